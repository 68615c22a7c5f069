require ["ereject"]; if header :contains "subject" "spam" { ereject "nope";}
