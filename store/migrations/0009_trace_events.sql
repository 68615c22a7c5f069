-- 0009: what happened to each message, for postern trace (package trace): the mail-log
-- events that name a session, a transaction or a queue entry. The writer appends them
-- in chunks, one row per batch (the events as JSON lines, what package trace wrote in
-- day files before), and indexes each chunk by the keys its events carry: session,
-- transaction and queue ids, Message-IDs, addresses. A chunk is one insert and a few
-- dozen keys instead of a row and half a dozen index entries per event, which keeps the
-- writer's cost near that of appending to a file. seq follows arrival, so pruning by
-- age ([trace] max_age) or size (max_size) deletes a prefix. Events of schema 8 lived
-- in day files under state_dir/trace; the daemon imports and removes them at start.
CREATE TABLE IF NOT EXISTS trace_chunks (
	seq      INTEGER PRIMARY KEY,
	first_at INTEGER NOT NULL, -- Unix nanoseconds of its oldest event
	last_at  INTEGER NOT NULL, -- and of its newest
	events   BLOB NOT NULL,    -- JSON lines, one event each
	size     INTEGER NOT NULL  -- what it counts against max_size
) STRICT;
-- key is "s:SESSION", "m:TRANSACTION", "q:QUEUE-ID", "i:message-id" (lower-cased,
-- without <>) or "a:address" (lower-cased).
CREATE TABLE IF NOT EXISTS trace_keys (
	key TEXT NOT NULL,
	seq INTEGER NOT NULL,
	PRIMARY KEY (key, seq)
) STRICT, WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS trace_keys_seq ON trace_keys(seq);
