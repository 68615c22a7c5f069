require ["body", "fileinto", "relational", "comparator-i;ascii-numeric"];
if body :content "text" :count "eq" "1" { fileinto "OneText"; }
if body :content "text" :count "eq" "2" { fileinto "TwoTexts"; }
if body :content "text" :count "eq" "3" { fileinto "ThreeTexts"; }
if body :content "" :count "ge" "5" { fileinto "FiveOrMore"; }
if body :content "multipart" :contains "multi-part message" { fileinto "Prologue"; }
if body :content "message" :count "ge" "1" { fileinto "HasMessage"; }
if body :text :contains "Gr\u00fc" { fileinto "Umlaut"; }
