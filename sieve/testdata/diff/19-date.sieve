require ["date","relational","fileinto"]; if date :value "ge" :originalzone "date" "hour" "09" { fileinto "Late"; } if date :is :zone "+0000" "date" "date" "2026-03-03" { fileinto "Mar3"; }
