if "foo" { keep; }
