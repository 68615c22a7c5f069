keep; /* comment
