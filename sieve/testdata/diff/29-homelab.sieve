require ["fileinto","mailbox","imap4flags","variables","envelope","subaddress"];
if header :contains "X-Spam-Flag" "YES" { fileinto :create "Junk"; stop; }
if exists "List-Id" { if header :matches "List-Id" "*<*>*" { set :lower "list" "${2}"; fileinto :create "Lists.${list}"; stop; } }
if envelope :detail "to" "receipts" { addflag "$Receipt"; fileinto :create "Receipts"; stop; }
if address :is "from" "alice@example.org" { addflag "\\Flagged"; }
