-- 0005: the Sieve vacation log (RFC 5230 section 4.2): which sender got which auto-reply
-- (handle) and when, so one reply is sent per sender per :days period. Rows outlive their
-- period only until the next prune; the log is advisory state, not mail.
CREATE TABLE IF NOT EXISTS vacation_log (
	user    TEXT NOT NULL REFERENCES users(address) ON DELETE CASCADE,
	handle  TEXT NOT NULL,
	sender  TEXT NOT NULL,
	sent_at INTEGER NOT NULL,
	PRIMARY KEY (user, handle, sender)
) STRICT;
