// Package export writes a Postern user's mail out for another server (postern export):
// a plain Maildir++ tree that Dovecot (or another Postern, through postern import
// dovecot) opens with every UID kept, or one mbox file per folder.
//
// The Maildir++ tree has one directory per folder (".A.B" for "A/B", components in
// modified UTF-7), the message files under their Postern names (which are Dovecot's
// form: base,S=size,W=vsize:2,FLAGS), each folder's dovecot-keywords, a
// dovecot-uidlist version 3 (header "3 V<uidvalidity> N<uidnext> G<guid>", then
// "<uid> :<base>" per message) and a subscriptions file (version 2). Files are
// hard-linked where the file system allows, copied otherwise. Dovecot reading the tree
// with no index of its own takes UIDVALIDITY, UIDNEXT and UIDs from the uidlist, so
// clients keep their caches.
//
// The mbox form is mboxrd: a "From " line per message, lines that start with ">*From "
// quoted with one more '>', line ends as LF; flags are not carried (mbox has no
// standard place for them).
package export
