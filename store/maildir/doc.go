// Package maildir is Postern's message file layer: a Maildir++ store that
// Dovecot, mutt, mbsync and other Maildir tools can read as it is.
//
// # Layout
//
// A user's Maildir root is the INBOX and holds tmp/, new/ and cur/. Every
// other folder is a directory directly under the root whose name is a dot
// followed by the folder's components joined with dots ("Lists/golang" is
// stored as ".Lists.golang"); it holds tmp/, new/, cur/ and an empty
// maildirfolder file. Clients see '/' as the hierarchy separator. Component
// names are stored in modified UTF-7 (RFC 3501 section 5.1.3), as Dovecot
// stores them; a '.' or '\' inside a component is stored as "\2e" or "\5c"
// (Dovecot's listescape form) so that it is not read as a separator. Names
// that could escape the root or confuse the layout are refused (see
// FolderDirName).
//
// A message file is named
//
//	<unix secs>.M<micros>P<pid>Q<counter>.<host>,S=<size>,W=<crlf size>[:2,<flags>]
//
// S= is the file's size and W= its size with bare LFs counted as CRLF (the
// IMAP RFC822.SIZE), so neither needs a stat or a read. The ":2," info holds
// the flag letters in ASCII order: D draft, F flagged, P passed, R replied,
// S seen, T trashed, then keyword letters a-z, which index the folder's
// dovecot-keywords file ("<index> <name>" per line, 0 is 'a'). A file's mtime
// is its IMAP INTERNALDATE.
//
// # Writing and failure
//
// Every write goes through store/durable. Delivery writes the message once to
// the first target's tmp/, fsyncs it, hard-links it (or copies it, across
// file systems) into each other target's new/ or cur/, renames it into the
// first target's, fsyncs each destination directory and only then returns. If any step
// fails, the links already made are removed, so a failed delivery leaves
// nothing in new/ or cur/; a crash can leave a file in tmp/, which CleanTmp
// removes after 36 hours (the Maildir convention), and can leave a message in
// some targets of a multi-target delivery but not others (the sender was not
// told 250 and retries, so at worst a duplicate is delivered).
//
// Flag changes are single renames within the folder (new/ to cur/ when the
// message is first touched), so a file is always found under exactly one
// name. Extending dovecot-keywords happens under an flock(2) of the folder
// directory and is written with durable.WriteFile.
//
// # Concurrency
//
// The package has no global state. Unique names come from a Namer, which the
// process creates once and shares; it is safe for concurrent use. Deliveries
// to the same folder from many goroutines or processes are safe, because
// names are unique and links and renames are atomic.
package maildir
