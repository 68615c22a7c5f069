require "fileinto"; if address :domain :is "from" "example.org" { fileinto "Org"; } if address :localpart :contains ["cc","to"] "carol" { fileinto "Carol"; }
