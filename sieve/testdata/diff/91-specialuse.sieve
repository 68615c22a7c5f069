require ["special-use", "fileinto", "mailbox"];
if header :contains "subject" "SPAM" { fileinto :specialuse "\\Junk" "Junk"; stop; }
if specialuse_exists "\\Archive" { fileinto "HasArchive"; }
fileinto :specialuse "\\Archive" :create "Archive";
