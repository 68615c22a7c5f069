require ["variables","relational","comparator-i;ascii-numeric","fileinto"]; set "a" "x"; set "b" ""; if string :count "eq" :comparator "i;ascii-numeric" ["${a}","${b}"] "1" { fileinto "One"; }
