require ["spamtestplus", "relational", "comparator-i;ascii-numeric", "fileinto"];
if spamtest :value "eq" :comparator "i;ascii-numeric" "0" { fileinto "Unscanned"; }
elsif spamtest :value "ge" :comparator "i;ascii-numeric" "6" { fileinto "Junk"; }
elsif spamtest :percent :value "ge" :comparator "i;ascii-numeric" "20" { fileinto "Maybe"; }
