require ["index","fileinto"]; if header :index 1 :contains "received" "mx.example.org" { fileinto "Idx"; }
