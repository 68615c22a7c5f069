-- 0003: what IMAP FETCH needs from a message's bytes, computed once. ENVELOPE and
-- BODYSTRUCTURE (RFC 3501 section 7.4.2) otherwise mean opening and parsing every file,
-- which dominates FETCH 1:* on a large mailbox. The encoding is the imap package's own
-- compact binary form; the store keeps it as opaque bytes. A missing row or a NULL column
-- means "not computed yet": the IMAP layer computes it from the file and stores it.
--
-- Keyed by the Maildir base name, not the UID: the name identifies the bytes, and a
-- reindex that renumbers UIDs keeps it. The triggers drop an entry whenever its message
-- row goes (expunge, reindex, mailbox deletion) or its size changes (the file was
-- rewritten by another program), so an entry never outlives the bytes it describes.
-- IF NOT EXISTS: the step is safe to run again over a partly rebuilt file.
CREATE TABLE IF NOT EXISTS message_cache (
	mailbox_id INTEGER NOT NULL REFERENCES mailboxes(id) ON DELETE CASCADE,
	filename   TEXT NOT NULL,
	envelope   BLOB,
	structure  BLOB,
	PRIMARY KEY (mailbox_id, filename)
) STRICT, WITHOUT ROWID;

CREATE TRIGGER IF NOT EXISTS message_cache_delete AFTER DELETE ON messages BEGIN
	DELETE FROM message_cache WHERE mailbox_id = OLD.mailbox_id AND filename = OLD.filename;
END;
CREATE TRIGGER IF NOT EXISTS message_cache_resize AFTER UPDATE OF size ON messages WHEN NEW.size != OLD.size BEGIN
	DELETE FROM message_cache WHERE mailbox_id = NEW.mailbox_id AND filename = NEW.filename;
END;
