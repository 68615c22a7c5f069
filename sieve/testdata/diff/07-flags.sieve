require ["imap4flags","fileinto"]; addflag "\\Seen"; addflag ["\\Flagged", "$Work"]; if header :contains "subject" "meeting" { fileinto :flags "\\Answered" "Meet"; removeflag "\\Seen"; }
