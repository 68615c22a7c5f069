require "include";
include :personal :once "lists";
include :personal :once "lists";
keep;
