require ["fileinto","encoded-character"]; if header :contains "subject" "${unicode:fc}r" { fileinto "${hex:42 69 6c 6c 73}"; }
