require "include"; include "nonexistent";
