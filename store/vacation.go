package store

import (
	"context"
	"database/sql"
	"time"
)

// VacationReplied reports whether user's vacation reply with handle went to sender within
// period (RFC 5230 section 4.2). Senders are compared case-insensitively.
func (s *Store) VacationReplied(ctx context.Context, user, handle, sender string, period time.Duration) (bool, error) {
	addr, err := NormalizeAddress(user)
	if err != nil {
		return false, err
	}
	var sentAt int64
	err = s.r.QueryRowContext(ctx, "SELECT sent_at FROM vacation_log WHERE user = ? AND handle = ? AND sender = ?",
		addr, handle, lowerASCII(sender)).Scan(&sentAt)
	if err == sql.ErrNoRows {
		return false, nil
	}
	if err != nil {
		return false, wrapDB("vacation log", err)
	}
	return s.now().Sub(time.Unix(sentAt, 0)) < period, nil
}

// RecordVacation remembers that user's reply with handle went to sender now, and drops
// entries older than maxAge (the longest period any script can ask for is the caller's
// choice; entries past it can never suppress a reply again).
func (s *Store) RecordVacation(ctx context.Context, user, handle, sender string, maxAge time.Duration) error {
	addr, err := NormalizeAddress(user)
	if err != nil {
		return err
	}
	now := s.now()
	return s.writeTx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `INSERT INTO vacation_log (user, handle, sender, sent_at) VALUES (?, ?, ?, ?)
			ON CONFLICT (user, handle, sender) DO UPDATE SET sent_at = excluded.sent_at`,
			addr, handle, lowerASCII(sender), now.Unix()); err != nil {
			return wrapDB("vacation log", err)
		}
		_, err := tx.ExecContext(ctx, "DELETE FROM vacation_log WHERE user = ? AND sent_at < ?", addr, now.Add(-maxAge).Unix())
		return wrapDB("vacation log", err)
	})
}

// VacationSentSince counts the entries of user's log with a handle starting with prefix
// that were sent at or after since (enotify's hourly cap: notifications are logged under
// "notify:" handles, and the same one is not sent twice within a day, so each row is one
// notification).
func (s *Store) VacationSentSince(ctx context.Context, user, prefix string, since time.Time) (int, error) {
	addr, err := NormalizeAddress(user)
	if err != nil {
		return 0, err
	}
	var n int
	err = s.r.QueryRowContext(ctx, "SELECT COUNT(*) FROM vacation_log WHERE user = ? AND substr(handle, 1, ?) = ? AND sent_at >= ?",
		addr, len(prefix), prefix, since.Unix()).Scan(&n)
	return n, wrapDB("vacation log", err)
}

func lowerASCII(s string) string {
	b := []byte(s)
	for i, c := range b {
		if 'A' <= c && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
	return string(b)
}
