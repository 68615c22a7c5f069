require ["body","fileinto"]; if body :text :contains "rechnung" { fileinto "Bills"; } if body :raw :contains "invoice-html" { fileinto "Raw"; }
