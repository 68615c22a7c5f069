require ["include", "variables"];
global "box";
set "box" "Archive";
include :personal "usebox";
