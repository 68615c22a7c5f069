require ["fileinto","copy","imap4flags"]; fileinto :copy :flags "\\Seen" "inbox";
