require "fileinto"; if anyof (header :contains "from" "dev@", exists "x-spam") { fileinto "A"; } elsif allof (true, not false) { fileinto "B"; } else { fileinto "C"; }
