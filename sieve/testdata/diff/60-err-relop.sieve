require "relational"; if header :value "gx" "subject" "x" { keep; }
