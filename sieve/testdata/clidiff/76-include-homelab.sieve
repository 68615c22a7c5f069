require ["include", "fileinto"];
include :global "spam";
if header :contains "Subject" "list" { fileinto "Lists"; }
