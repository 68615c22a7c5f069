package store

import (
	"context"
	"database/sql"
	"fmt"
)

// MaxSubscriptions bounds one user's subscription list. Names need not exist, so without
// a bound a client could grow the database without end, one SUBSCRIBE at a time.
const MaxSubscriptions = 10000

// SetSubscribed adds name to the user's subscription list or removes it (IMAP
// SUBSCRIBE/UNSUBSCRIBE). The name need not be a mailbox: subscriptions are names and
// outlive their mailbox (RFC 3501 section 6.3.6). Adding beyond MaxSubscriptions is
// ErrLimit; unsubscribing a name that is not subscribed is ErrNotFound.
func (s *Store) SetSubscribed(ctx context.Context, user, name string, subscribed bool) error {
	addr, name, err := normalizeUserMailbox(user, name)
	if err != nil {
		return err
	}
	return s.writeTx(ctx, func(tx *sql.Tx) error {
		if !subscribed {
			res, err := tx.ExecContext(ctx, "DELETE FROM subscriptions WHERE user = ? AND name = ?", addr, name)
			if err != nil {
				return wrapDB("unsubscribe", err)
			}
			if n, _ := res.RowsAffected(); n == 0 {
				return fmt.Errorf("subscription %q of %s: %w", name, addr, ErrNotFound)
			}
			return nil
		}
		if ok, err := exists(ctx, tx, "SELECT 1 FROM subscriptions WHERE user = ? AND name = ?", addr, name); err != nil || ok {
			return err
		}
		var n int
		if err := tx.QueryRowContext(ctx, "SELECT count(*) FROM subscriptions WHERE user = ?", addr).Scan(&n); err != nil {
			return wrapDB("subscribe", err)
		}
		if n >= MaxSubscriptions {
			return fmt.Errorf("%w: %s has %d subscriptions", ErrLimit, addr, n)
		}
		_, err := tx.ExecContext(ctx, "INSERT INTO subscriptions(user, name) VALUES (?, ?)", addr, name)
		return wrapDB("subscribe "+addr, err) // ErrNotFound: no such user
	})
}

// Subscriptions returns the user's subscribed names, mailboxes or not, sorted.
func (s *Store) Subscriptions(ctx context.Context, user string) ([]string, error) {
	addr, err := NormalizeAddress(user)
	if err != nil {
		return nil, err
	}
	rows, err := s.r.QueryContext(ctx, "SELECT name FROM subscriptions WHERE user = ? ORDER BY name", addr)
	if err != nil {
		return nil, wrapDB("subscriptions", err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			return nil, wrapDB("subscriptions", err)
		}
		out = append(out, n)
	}
	return out, wrapDB("subscriptions", rows.Err())
}
