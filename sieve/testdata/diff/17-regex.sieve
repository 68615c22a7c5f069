require ["regex","variables","fileinto"]; if header :regex "subject" "^\\[([a-z]+)\\] (.*)$" { fileinto "re-${1}"; }
