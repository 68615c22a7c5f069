if header :comparator "i;ascii-numeric" "x" "1" { keep; }
