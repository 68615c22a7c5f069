// Package imap is Postern's IMAP server (IMAP4rev1 and IMAP4rev2) over the store's
// SQLite index and the users' Maildirs.
//
// # Library
//
// The protocol is go-imap v2's imapserver, taken from the fork
// github.com/migadu/go-imap/v2 and vendored with our patches in internal/goimap (a
// replace directive in go.mod; it keeps the module path github.com/emersion/go-imap/v2;
// its README lists the patches: QUOTA, FLAGS/PERMANENTFLAGS writers, ESORT, LIST). Upstream v2.0.0-beta.8 has no ID,
// CONDSTORE, QRESYNC, SORT, THREAD or METADATA and no hook to add them; the fork has
// them, runs a mail provider's production server, builds here with the race detector,
// and our tests drive ID, CONDSTORE (MODSEQ, CHANGEDSINCE) and SORT through it. The cost
// is that its Session interface is larger (Sort is mandatory, Rename takes a writer).
// THREAD (REFERENCES, ORDEREDSUBJECT) is thread.go; QRESYNC is qresync.go, which
// keeps no expunge tombstones and answers VANISHED (EARLIER) from the UID gaps.
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
// # Snapshots
//
// Each selected mailbox has one in-memory snapshot of its index (snapshot.go), shared
// by every session that has it selected: UID, flags, MODSEQ, size, internal date and
// file name of every message, and each message's decoded ENVELOPE and BODYSTRUCTURE
// once first needed. FETCH, SEARCH, SORT, STORE, EXPUNGE, COPY and the post-command
// poll read it instead of the database. Before a command uses it, one prepared
// single-row query compares the mailbox's counters (HIGHESTMODSEQ, UIDNEXT,
// UIDVALIDITY) with the snapshot's; only when they moved are the rows with a higher
// MODSEQ read (store.MailboxChangesSince), plus, in the same read transaction, the UID
// list when the message count shows expunges. Every writer of the index bumps
// HIGHESTMODSEQ, so the snapshot cannot miss a change. A session's own STORE and
// EXPUNGE are applied to the snapshot directly after their commit, so the next check
// finds it current. Views are immutable (a change publishes a new one), so a FETCH of
// 10,000 messages runs without a lock. SELECT does not load the rows (SELECT on
// 100,000 messages reads only the UID list, reused while the mailbox is unchanged);
// the first command that needs them does. A snapshot stays in memory while a session
// has its mailbox selected and, after that, while it is among the KeptSnapshots most
// recently released.
//
// # The message cache
//
// ENVELOPE and BODYSTRUCTURE are stored in the index's message cache (store migration
// 0003), in this package's compact binary encoding (summary_codec.go), so they outlive
// the snapshots and a restart. A snapshot asks the cache once per message; what is
// missing is computed from the file (on all CPUs when there is much of it) and stored
// in the background after the FETCH is answered. New deliveries are summarised in the
// background shortly after MailboxChanged reports them (summarizer.go), while the files
// are in the page cache, so the first FETCH of new mail reads no file; APPEND stores
// the entries before its OK and COPY and MOVE copy them. The store drops an entry with
// its message row or when the size changes; an entry that does not decode is
// recomputed, so the encoding can change without a migration.
//
// SEARCH HEADER on Subject, From, To, Cc, Bcc and Message-ID is answered from the
// decoded envelopes (search_envelope.go); other fields, and messages without an
// envelope, are read from the file (and their envelope filled).
//
// # Message files
//
// A message's file is not looked up before use: it is opened (renamed, removed,
// linked) where it was last found, then where the index's flags put it (cur/ with
// those flags, or new/), and only if that fails with ENOENT does one listing of the
// folder find it by its base name. dovecot-keywords is cached per folder by inode,
// size and mtime.
//
// # Sections
//
// BODY[] and RFC822 are streamed from the file. Every other section (BODY[1.2],
// HEADER.FIELDS, MIME, TEXT, BINARY[...], BINARY.SIZE[...]) is found in mimeparse's
// tree, the one BODYSTRUCTURE comes from, parsed only as far as the part's end, and
// streamed from the file at the part's offsets (section.go): measured before the
// response starts, never held whole, so memory is bounded whatever the part's size or
// depth.
//
// # Output
//
// go-imap flushes after every response line; every connection is wrapped in a
// batchConn (batchconn.go) that holds the output until the server next reads from the
// client (the end of a command, or a continuation request) or 64 KiB are pending, so a
// FETCH of 10,000 messages is a few dozen TLS records, not 10,000. While a Read is in
// progress (IDLE) writes go straight out.
//
// # IMAP4rev1
//
// A client that does not ENABLE IMAP4rev2 gets \Recent (recent.go: per mailbox the
// highest UID a read-write session has taken, in memory), RECENT and UNSEEN in SELECT,
// RECENT with every EXISTS, and FLAGS/PERMANENTFLAGS re-sent before the first FETCH that
// shows a keyword it was not told of (announce.go).
//
// # Sessions, sequence numbers, updates
//
// A session that selects a mailbox takes its UID list (the sequence-number map) and
// remembers the mailbox's HIGHESTMODSEQ. After each command (go-imap's Poll) it
// compares that with the snapshot (brought up to date as above, or, right after a
// FETCH, STORE or SEARCH, as that command left it) and reports the difference as
// FETCH, EXISTS and EXPUNGE. Expunges are held back during FETCH, STORE and SEARCH
// (RFC 3501 section 7.4.1). A session's own flag changes are not echoed.
//
// Sessions learn of changes at once through an in-process hub keyed by (user, mailbox):
// every write here and Server.MailboxChanged (called by the delivery agent after it
// indexes a message) wake the IDLE sessions of that mailbox.
//
// # Other programs writing the Maildir
//
// On SELECT, STATUS, IDLE wake-ups and the poll after every command the new/ and cur/
// directories are stat'ed (two system calls; after FETCH, STORE and SEARCH at most once
// per Options.RescanInterval); if their mtimes differ from the last rescan the folder
// is scanned and the index synced (store.SyncMailboxIndex). The stamps are also stored with the mailbox row after each
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
// A STORE holds the index's writer from its first rename to its commit, so the index
// rows are written while the later files are renamed (flag_feed.go). A snapshot's own
// mutex serialises its refreshes and applied changes; readers take the published view
// without it. Background work (cache writes, the summariser) is
// counted so Shutdown waits for it.
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
