require "imap4flags"; setflag "\\Deleted"; keep :flags ["\\Seen", "junk"];
