require "include";
include :optional :personal "missing";
keep;
