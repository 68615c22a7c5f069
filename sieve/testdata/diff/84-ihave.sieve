require ["ihave"];
if ihave "fileinto" { fileinto "Have"; }
if ihave ["vnd.example.nosuch"] { nosuchcommand "x"; } else { keep; }
