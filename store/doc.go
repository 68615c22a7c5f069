// Package store keeps Postern's state that is not message bytes: domains, users and their
// password hashes, app passwords, aliases, and (from schema version 2) the IMAP index of
// mailboxes and messages. Message bytes live in the Maildir (subpackage maildir); the index
// here can be rebuilt from it.
//
// # On disk
//
// One SQLite database (STATE_DIR/postern.db) in WAL mode, created mode 0600 because it
// holds password hashes. The schema is a sequence of numbered SQL files embedded from
// migrations/; each is applied in its own transaction together with the bump of
// PRAGMA user_version, so a crash leaves the database at one version or the next, never
// between. A database whose user_version is newer than this code knows is refused with
// ErrNewerSchema rather than guessed at.
//
// Times are stored as INTEGER Unix seconds (UTC), which every SQLite tool reads the same way.
//
// # Concurrency and locking
//
// A Store holds two connection pools on the same file:
//
//   - the writer: exactly one connection, every transaction BEGIN IMMEDIATE
//     (_txlock=immediate), so writers queue in Go (context-aware) instead of failing with
//     SQLITE_BUSY when a deferred read transaction tries to upgrade;
//   - the readers: several query_only connections. In WAL mode readers never block the
//     writer nor wait for it, so IMAP listings are not stuck behind a delivery's fsync.
//
// Another process on the same file (an offline reindex, sqlite3 CLI) is tolerated through
// busy_timeout. Two postern daemons on one state dir are prevented by LockDir.
//
// # Durability
//
// synchronous=FULL: a commit returns only after the WAL is fsync'd, so a caller that
// acknowledges (OK to APPEND, an admin change) after a successful call never loses what
// it acknowledged. The one exception is IndexDeliveries, the delivery path's index
// commit: the message file is fsynced before it, so its commit does not wait for the disk
// (synchronous=NORMAL for that transaction), and per-mailbox ceilings (migration 0007,
// RecoverCounters) keep a power loss from ever reusing a UID or MODSEQ.
//
// # Mail index
//
// Schema 2 adds mailboxes (per user, client-visible '/'-separated UTF-8 names, INBOX
// canonical) and messages (UID, Maildir base name without the ":2," info, size, internal
// date, flags, MODSEQ). UIDNEXT only grows, so UIDs are never reused; UIDVALIDITY is
// strictly increasing per user (users.last_uidvalidity), so a recreated mailbox never
// repeats one. Per-user used_bytes is kept exact by triggers on messages, for cheap quota
// checks. AddMessages indexes one delivery for all its recipients in one transaction;
// ReplaceMailboxIndex rebuilds one mailbox from a Maildir scan, keeping known UIDs.
//
// # Trace
//
// Schema 9 adds trace_chunks and trace_keys, the history package trace keeps for
// postern trace: AppendTrace stores one batch of events (JSON lines) as one row and
// indexes it by the keys its events carry (session, transaction and queue ids,
// Message-IDs, addresses) in one relaxed commit (like IndexDeliveries');
// TraceChunksWith, TraceChunksBetween and RecentTraceChunks find chunks by key or time,
// TraceEvents reads one, and PruneTrace deletes a prefix of them by age or size.
//
// # Addresses
//
// Addresses are normalised before they are stored or looked up: the domain is lower-cased
// (DNS is case-insensitive, RFC 4343) and so is the local part. RFC 5321 section 2.4 allows
// a server to treat local parts case-sensitively, but no mail user expects Bob@ and bob@ to
// be different mailboxes, and Postfix and Dovecot lower-case lookups too. See ParseAddress.
//
// # Passwords
//
// Account passwords are hashed with argon2id and stored as PHC strings
// ($argon2id$v=19$m=...,t=...,p=...$salt$hash); the parameters travel with each hash, so
// changing Options.Argon2 affects new hashes only. App passwords are random 80+ bit secrets
// generated here; for those a single SHA-256 is enough (no dictionary to attack), stored
// and compared in constant time. Authenticate spends about the same time whether the user
// exists or not (a dummy argon2id run for unknown users).
package store
