-- 0002: the IMAP index of the Maildir. The Maildir stays the source of truth for message
-- bytes and flags; this records what IMAP needs to be fast and stable: UIDs, UIDVALIDITY
-- (RFC 3501 section 2.3.1.1), MODSEQ (RFC 7162), sizes, dates.

-- uidvalidity values handed out for this user so far: a recreated mailbox must get a
-- value it never had, even within the same second.
ALTER TABLE users ADD COLUMN last_uidvalidity INTEGER NOT NULL DEFAULT 0;
-- Sum of the sizes of the user's indexed messages, kept by the triggers below.
ALTER TABLE users ADD COLUMN used_bytes INTEGER NOT NULL DEFAULT 0;

CREATE TABLE mailboxes (
	id             INTEGER PRIMARY KEY,
	user           TEXT NOT NULL REFERENCES users(address) ON DELETE CASCADE,
	name           TEXT NOT NULL,            -- client-visible, '/'-separated, UTF-8; "INBOX"
	uidvalidity    INTEGER NOT NULL,
	uidnext        INTEGER NOT NULL DEFAULT 1, -- only ever grows: UIDs are never reused
	highest_modseq INTEGER NOT NULL DEFAULT 1,
	special_use    TEXT NOT NULL DEFAULT '',   -- RFC 6154: \Drafts, \Sent, ... or ''
	subscribed     INTEGER NOT NULL DEFAULT 1,
	created_at     INTEGER NOT NULL,
	UNIQUE (user, name)
) STRICT;

CREATE TABLE messages (
	mailbox_id    INTEGER NOT NULL REFERENCES mailboxes(id) ON DELETE CASCADE,
	uid           INTEGER NOT NULL,
	filename      TEXT NOT NULL,   -- Maildir base name, without the ":2,FLAGS" info
	size          INTEGER NOT NULL,
	internal_date INTEGER NOT NULL,
	flags         TEXT NOT NULL DEFAULT '', -- space separated, e.g. "\Seen $Junk"
	modseq        INTEGER NOT NULL,
	PRIMARY KEY (mailbox_id, uid)
) STRICT, WITHOUT ROWID;
CREATE UNIQUE INDEX messages_by_filename ON messages(mailbox_id, filename);
CREATE INDEX messages_by_modseq ON messages(mailbox_id, modseq);

CREATE TRIGGER messages_usage_insert AFTER INSERT ON messages BEGIN
	UPDATE users SET used_bytes = used_bytes + NEW.size
	WHERE address = (SELECT user FROM mailboxes WHERE id = NEW.mailbox_id);
END;
CREATE TRIGGER messages_usage_delete AFTER DELETE ON messages BEGIN
	UPDATE users SET used_bytes = used_bytes - OLD.size
	WHERE address = (SELECT user FROM mailboxes WHERE id = OLD.mailbox_id);
END;
CREATE TRIGGER messages_usage_update AFTER UPDATE OF size ON messages WHEN NEW.size != OLD.size BEGIN
	UPDATE users SET used_bytes = used_bytes + NEW.size - OLD.size
	WHERE address = (SELECT user FROM mailboxes WHERE id = NEW.mailbox_id);
END;
