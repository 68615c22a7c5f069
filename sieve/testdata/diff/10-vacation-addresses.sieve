require "vacation"; vacation :addresses ["me@example.net","other@example.net"] :from "Me@Example.NET" "away";
