require "reject"; if header :contains "subject" "SPAM" { reject "go away"; }
