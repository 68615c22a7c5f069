-- 0007: how far UIDs and MODSEQs may have been handed out by commits that were not yet
-- on disk. Delivery indexes new mail with commits that do not wait for an fsync of the
-- WAL (the message file itself is fsynced before, and the Maildir is the source of
-- truth), so after a power loss the last of those commits can be missing and UIDNEXT and
-- HIGHESTMODSEQ can read lower than values an IMAP client has already seen. A UID must
-- never be reused (RFC 3501 section 2.3.1.1) and a MODSEQ never go back (RFC 7162), so
-- a delivery never hands out a value above these ceilings, and a commit that raises a
-- ceiling waits for the disk. After an unclean stop, UIDNEXT and HIGHESTMODSEQ are first
-- raised to the ceilings, then the Maildir is reconciled. 0 means "no value handed out
-- beyond the counters themselves".
ALTER TABLE mailboxes ADD COLUMN uid_ceiling INTEGER NOT NULL DEFAULT 0;
ALTER TABLE mailboxes ADD COLUMN modseq_ceiling INTEGER NOT NULL DEFAULT 0;
