require ["enotify", "variables", "fileinto"];
if header :matches "subject" "*" { set :encodeurl "s" "${1}"; }
notify :importance "1" :message "New mail" "mailto:bob@example.org?cc=carol@example.org";
notify "mailto:dave@example.org?subject=About%20${s}";
notify :message "dup" "mailto:bob@example.org?cc=carol@example.org";
if valid_notify_method "mailto:x@example.org" { fileinto "Valid"; }
if valid_notify_method "xmpp:x@example.org" { fileinto "Invalid"; }
if notify_method_capability "mailto:x@example.org" "online" "maybe" { fileinto "Maybe"; }
