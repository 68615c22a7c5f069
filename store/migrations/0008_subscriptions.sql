-- 0008: subscriptions are names, not mailboxes. IMAP's subscription list (RFC 3501
-- section 6.3.6, RFC 9051 6.3.7) outlives the mailbox it names: DELETE leaves the name
-- subscribed (LIST (SUBSCRIBED) then reports it \NonExistent, RFC 5258), and a client
-- may subscribe a name that does not exist yet. The mailboxes.subscribed flag could not
-- say that; the names move here and the flag goes.
CREATE TABLE IF NOT EXISTS subscriptions (
	user TEXT NOT NULL REFERENCES users(address) ON DELETE CASCADE,
	name TEXT NOT NULL, -- normalised as mailboxes.name
	PRIMARY KEY (user, name)
) STRICT, WITHOUT ROWID;
INSERT OR IGNORE INTO subscriptions(user, name) SELECT user, name FROM mailboxes WHERE subscribed = 1;
ALTER TABLE mailboxes DROP COLUMN subscribed;
