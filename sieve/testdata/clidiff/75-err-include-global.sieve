require "include";
include :global "nope";
