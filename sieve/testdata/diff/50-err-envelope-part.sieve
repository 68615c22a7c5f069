require "envelope"; if envelope :is "auth" "x" { keep; }
