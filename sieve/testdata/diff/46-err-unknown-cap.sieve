require "nosuchthing";
