require "vacation"; vacation "Back soon.";
