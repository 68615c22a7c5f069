require ["editheader", "fileinto"];
fileinto "Before";
deleteheader "Received";
deleteheader "Auto-Submitted";
addheader :last "X-Note" "Grüße aus Köln";
addheader "x-lower-case" "aaaa bbbb cccc dddd eeee ffff gggg hhhh iiii jjjj kkkk llll mmmm nnnn oooo pppp";
deleteheader :matches "Subject" "*";
if not exists "Subject" { fileinto "NoSubject"; }
