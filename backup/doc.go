// Package backup takes a consistent backup of a Postern state directory while the
// daemon runs (postern backup DIR) and puts one back into an empty state directory
// (postern restore DIR).
//
// # What a backup holds and why it is consistent
//
// DIR/state mirrors the state directory. The database is written first, as one
// snapshot (store.Snapshot, SQLite's VACUUM INTO): it holds every transaction
// committed before the backup began, which includes the index entry of every message
// acknowledged (a delivery answers 250, an APPEND OK, only after its index commit).
// The Maildirs are walked after that and every message file is hard-linked (Maildir
// files are never rewritten in place, only renamed and removed, so a link is a copy
// that costs no space); where a link is impossible (another file system) the file is
// copied. Every other file (queue, DKIM and SRS keys, ACME certificates and keys) is
// copied, because some are rewritten in place. So the files are a superset of what
// the database indexes, less what was expunged meanwhile. Deliveries go on during the
// backup: it only reads the state directory, and writers wait for the database
// snapshot alone. DIR/backup.json, written last and fsynced, marks a complete backup;
// a backup without it is refused by Restore.
//
// # Files outside the state directory
//
// What the config names elsewhere (TLS certificate and key, relay and Rspamd password
// files, ACME credentials, CA bundles, global Sieve scripts; config.NamedFiles) and the
// config file itself are copied, by the daemon that reads them anyway, to
// DIR/outside/ABSOLUTE/PATH with their modes; the manifest records each one's key,
// path, mode and owner. RestoreOutside puts each back where the config in use names
// it, when nothing is there yet; what is there and differs, or is no longer named, goes
// to STATE_DIR/restored-files/KEY/ to compare, never over a file. Owners: a file that
// was root's stays root's, any other is given to the service user, as uids differ from
// one machine to the next.
//
// # Restore
//
// Restore copies DIR/state into a state directory that is empty (or missing), with
// the daemon stopped (the caller holds the state lock), linking message files and
// copying the rest. The caller then opens the store (applying migrations if the
// backup is older) and runs Verify, which compares the index with the files: an entry
// whose file is gone (expunged during the backup) is dropped, a file the index does
// not know (delivered during the backup) is indexed with the next UID, and known files
// keep their UIDs, so clients keep their caches. Before that, every mailbox's UIDNEXT and
// HIGHESTMODSEQ are raised to what they were when the backup ended (recorded in
// backup.json), so a message delivered during the backup and indexed anew never takes
// a UID a client saw then on another message. What arrived after the backup ended is
// not in it: restoring any backup loses that.
package backup
