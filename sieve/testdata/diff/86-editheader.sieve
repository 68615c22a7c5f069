require ["editheader", "fileinto", "variables"];
addheader "X-Postern-Test" "first";
addheader :last "X-Trailer" "last one";
deleteheader "X-Spam-Flag";
deleteheader :index 1 "X-Spam";
deleteheader :contains "X-Mailer" "Thunder";
if header :is "X-Postern-Test" "first" { addheader "X-Seen" "yes"; }
if not exists "X-Spam-Flag" { fileinto "Cleaned"; }
