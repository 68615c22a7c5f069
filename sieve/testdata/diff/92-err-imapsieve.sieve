require "imapsieve";
