// Package dovecot imports users and mail from Dovecot (2.x, Maildir++ layout).
//
// # What is kept
//
// For each folder: UIDVALIDITY and UIDNEXT and every message's UID from dovecot-uidlist
// (versions 1 to 3; UIDNEXT is the header's or one past the last record, as Dovecot
// appends records without rewriting the header); flags from the file names' ":2,"
// letters and keywords through the folder's dovecot-keywords; the folder name
// (Maildir++ ".A.B" with modified UTF-7 components becomes "A/B" in UTF-8);
// subscriptions (the root's subscriptions file, version 2 with TAB-separated levels or
// the older one-name-per-line form; names without a folder, kept by Dovecot after a
// DELETE, are subscribed as names); special-use attributes, which Dovecot keeps in its
// configuration, not in the Maildir: from dovecot.conf (ReadDovecotConf follows
// !include and !include_try, or reads doveconf -n output) the mailbox sections of the
// private namespaces, and only those; without a configuration, the well-known names;
// over both, those given on the command line. Pigeonhole's scripts (~/sieve/NAME.sieve) are stored and the one
// ~/.dovecot.sieve links to is activated; a script Postern's Sieve cannot compile is
// reported and left out. Messages Dovecot had not numbered yet (not in the uidlist)
// get UIDs from UIDNEXT on: no client can have seen them. A folder without a uidlist
// was never opened by Dovecot and gets a new UIDVALIDITY.
//
// Users come from a passwd-file (user:password:uid:gid:gecos:home:shell:extra) with
// their hash kept as it is (store/passhash verifies it; the store replaces it at the
// first login) and userdb_quota_rule=*:storage=N as the quota.
//
// # How a folder is taken
//
// Files are hard-linked (the same inode: no second copy of a 20 GiB mailbox; copied
// when the link fails, across file systems, keeping the mtime that is the
// INTERNALDATE) first into the Postern folder's tmp/, invisible to IMAP; then the
// folder's index is committed in one transaction (store.ImportMailbox); then the links
// are renamed into new/ and cur/ and the directories fsynced. An interruption before
// the commit removes the links, so a folder is imported whole or not at all; after the
// commit, running the import again finishes the renames. A second run finds every UID
// indexed and every file present and changes nothing.
//
// Parsers of outside files (ParseUIDList, ParseSubscriptions, ParsePasswdFile,
// ParseQuotaRule, ParseDovecotConf; the last bounded in bytes, files, include and
// section depth) are strict where a guess could give a message another's UID (a
// repeated UID or name is an error for the whole folder) and lenient elsewhere (a bad
// line is reported, the rest is read); each has a fuzz target.
package dovecot
