-- 0004: Sieve scripts (RFC 5228), edited over ManageSieve (RFC 5804) and the CLI. A user
-- has any number of scripts and at most one active one (RFC 5804 section 1.3); the partial
-- unique index makes a second active row impossible rather than merely unlikely. Content
-- is the script's UTF-8 source as uploaded; it is compiled when it is stored and again at
-- delivery, so the table never holds compiled state that could go stale.
-- IF NOT EXISTS: a database rebuilt to an older version by hand (see the migration tests)
-- may still hold the table; re-running this step must not fail.

CREATE TABLE IF NOT EXISTS sieve_scripts (
	user       TEXT NOT NULL REFERENCES users(address) ON DELETE CASCADE,
	name       TEXT NOT NULL,
	content    TEXT NOT NULL,
	active     INTEGER NOT NULL DEFAULT 0,
	updated_at INTEGER NOT NULL,
	PRIMARY KEY (user, name)
) STRICT;
CREATE UNIQUE INDEX IF NOT EXISTS sieve_scripts_one_active ON sieve_scripts(user) WHERE active = 1;
