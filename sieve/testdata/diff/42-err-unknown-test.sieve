if foo "x" { keep; }
