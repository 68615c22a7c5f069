require ["ihave", "fileinto"];
if header :contains "subject" "watches" { error "refusing watches"; }
fileinto "After";
