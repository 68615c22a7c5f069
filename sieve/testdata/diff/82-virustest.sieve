require ["virustest", "relational", "comparator-i;ascii-numeric", "fileinto"];
if virustest :value "eq" :comparator "i;ascii-numeric" "0" { fileinto "NotScanned"; }
if virustest :value "ge" :comparator "i;ascii-numeric" "4" { discard; }
