require ["fileinto","mailbox"]; if mailboxexists "Archive" { fileinto "Archive"; } else { fileinto :create "New"; }
