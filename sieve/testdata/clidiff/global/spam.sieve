require ["fileinto", "imap4flags"];
if header :is "X-Spam" "Yes" { fileinto :flags "\\Seen" "Junk"; stop; }
