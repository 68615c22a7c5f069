require ["spamtestplus", "fileinto", "variables"];
if spamtest :matches "*" { fileinto "score-${1}"; }
if spamtest :percent :matches "*" { fileinto "percent-${1}"; }
