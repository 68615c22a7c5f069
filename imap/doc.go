// Package imap is Postern's IMAP server (IMAP4rev1 and IMAP4rev2) over the store's
// SQLite index and the users' Maildirs.
//
// # Library
//
// The protocol is go-imap v2's imapserver, taken from the fork
// github.com/migadu/go-imap/v2 through a replace directive in go.mod (it keeps the
// module path github.com/emersion/go-imap/v2). Upstream v2.0.0-beta.8 has no ID,
// CONDSTORE, QRESYNC, SORT, THREAD or METADATA and no hook to add them; the fork has
// them, runs a mail provider's production server, builds here with the race detector,
// and our tests drive ID, CONDSTORE (MODSEQ, CHANGEDSINCE) and SORT through it. The cost
// is that its Session interface is larger (Sort is mandatory, Rename takes a writer).
// We advertise QRESYNC and THREAD only once we implement them.
//
// # Layout and truth
//
// Message bytes and flags live in the Maildir (store/maildir): the flags in the file
// names, the way Dovecot and mutt read them. The index (store) holds UIDs, MODSEQs,
// sizes, internal dates and a copy of the flags. Every change is made to the file first
// (maildir.Append fsyncs before we index; a flag change is a rename) and then to the
// index, so a crash between the two leaves the file right and the index behind, and the
// next rescan repairs the index. Flag renames are not fsynced (maildir.FlagRenamer):
// they change no message bytes, the rename is atomic in the file system's journal, and
// a crash can only lose the flag change itself (the rescan then sees the folder's mtime
// differ and puts the index back in step with the file) — Dovecot does the same.
//
// # The message cache
//
// ENVELOPE and BODYSTRUCTURE come from the index's message cache (store migration
// 0003), in this package's compact binary encoding (summary_codec.go), so FETCH 1:* of
// envelopes reads no message file. An entry is made when first needed (a FETCH computes
// what is missing from the file and stores it after answering), at APPEND from the file
// just written, and copied with COPY and MOVE; old rows and messages the delivery agent
// or another program added simply fill in on their first FETCH. The store drops an
// entry with its message row or when the size changes; an entry that does not decode is
// recomputed, so the encoding can change without a migration.
//
// SEARCH HEADER on Subject, From, To, Cc, Bcc and Message-ID is answered from the cached
// envelope too (search_envelope.go); other fields, and messages without a cache entry,
// are read from the file (and their entry filled).
//
// # Output
//
// go-imap flushes after every response line; every connection is wrapped in a
// batchConn (batchconn.go) that holds the output until the server next reads from the
// client (the end of a command, or a continuation request) or 64 KiB are pending, so a
// FETCH of 10,000 messages is a few dozen TLS records, not 10,000. While a Read is in
// progress (IDLE) writes go straight out.
//
// # Sessions, sequence numbers, updates
//
// A session that selects a mailbox loads its UID list (the sequence-number map) and
// remembers the mailbox's HIGHESTMODSEQ. After each command (go-imap's Poll) it
// compares that with the index: a cheap one-row read when nothing changed; otherwise
// the rows with a higher MODSEQ (flag changes from other sessions, new messages) and the
// UID list (expunges) are read and reported as FETCH, EXISTS and EXPUNGE. Expunges are
// held back during FETCH, STORE and SEARCH (RFC 3501 section 7.4.1). A session's own
// flag changes are not echoed.
//
// Sessions learn of changes at once through an in-process hub keyed by (user, mailbox):
// every write here and Server.MailboxChanged (called by the delivery agent after it
// indexes a message) wake the IDLE sessions of that mailbox.
//
// # Other programs writing the Maildir
//
// On SELECT, STATUS and every poll the new/ and cur/ directories are stat'ed; if their
// mtimes differ from the last rescan the folder is scanned and the index synced
// (store.SyncMailboxIndex). The stamps are also stored with the mailbox row after each
// sync (migration 0006), so the first SELECT after a restart of an unchanged folder
// reads no directory. A command that changes files itself (STORE, EXPUNGE) records the
// folder's new stamp when the folder was in step before it, so our own renames do not
// cause a rescan. Files in new/ younger than Options.RescanGrace that the index
// does not know are left for the delivery that is indexing them (and the folder looked
// at again), so a rescan never races a delivery into a duplicate index entry.
//
// # Locking
//
// Writes of one user (flag renames, expunges, copies, rescans) are serialised by a
// per-user mutex inside this process; deliveries do not take it, because they only add
// files under new unique names and the index's writer connection serialises the rest.
//
// # Names and isolation
//
// Mailbox names must pass both store.NormalizeMailboxName (no empty, "." or ".."
// components, no wildcards) and maildir.FolderDirName, so a name can only ever map to a
// ".Name" directory directly under the logged-in user's Maildir root; the root comes
// from Options.MaildirRoot for the authenticated address only.
//
// # Failure
//
// Store or file errors become NO with an RFC 5530 response code; a panic in a command
// is recovered, logged with its stack, and answered NO [SERVERBUG]; the connection goes
// on. Logins happen only over TLS (LOGINDISABLED before STARTTLS on 143), and every
// failed login is logged as "imap: auth failed" with client and user for fail2ban.
package imap
