require ["environment", "fileinto", "relational"];
if environment :is "location" "MS" { fileinto "Store"; }
if environment :count "eq" "no-such-item" "0" { fileinto "Nothing"; }
if environment :contains "no-such-item" "" { fileinto "Empty"; }
