package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// User is a mail account. Address is normalised (lower-case).
type User struct {
	Address      string
	Domain       string
	Disabled     bool
	QuotaBytes   int64 // 0 = unlimited
	CreatedAt    time.Time
	AppPasswords int
}

// UserOptions are the optional settings of a new user.
type UserOptions struct {
	QuotaBytes int64 // 0 = unlimited
}

// AddUser creates a user with a password. The address is validated and lower-cased; its
// domain must be local (ErrNotFound wrapped otherwise); ErrExists if the user exists.
// The argon2id hash is computed before the write transaction so the writer is not held
// for ~100 ms.
func (s *Store) AddUser(ctx context.Context, address, password string, o UserOptions) (User, error) {
	addr, err := NormalizeAddress(address)
	if err != nil {
		return User{}, err
	}
	if err := checkNewPassword(password); err != nil {
		return User{}, err
	}
	if o.QuotaBytes < 0 {
		return User{}, fmt.Errorf("%w: negative quota", ErrInvalid)
	}
	hash, err := s.hash(ctx, password)
	if err != nil {
		return User{}, err
	}
	return s.insertUser(ctx, addr, hash, o)
}

// ImportUser creates a user with a password hash taken from another server, in the
// "{SCHEME}data" form of Dovecot (see store/passhash for the schemes). Authenticate
// verifies it and replaces it with argon2id at the first successful login. Errors as
// AddUser's; ErrInvalid for a hash of an unknown scheme.
func (s *Store) ImportUser(ctx context.Context, address, hash string, o UserOptions) (User, error) {
	addr, err := NormalizeAddress(address)
	if err != nil {
		return User{}, err
	}
	if err := checkImportedHash(hash); err != nil {
		return User{}, err
	}
	if o.QuotaBytes < 0 {
		return User{}, fmt.Errorf("%w: negative quota", ErrInvalid)
	}
	return s.insertUser(ctx, addr, hash, o)
}

func (s *Store) insertUser(ctx context.Context, addr, hash string, o UserOptions) (User, error) {
	_, domain := SplitAddress(addr)
	now := s.unix()
	err := s.writeTx(ctx, func(tx *sql.Tx) error {
		if ok, err := exists(ctx, tx, "SELECT 1 FROM domains WHERE name = ?", domain); err != nil || !ok {
			if err == nil {
				err = fmt.Errorf("domain %s of user %s is not local: %w", domain, addr, ErrNotFound)
			}
			return err
		}
		if ok, err := exists(ctx, tx, "SELECT 1 FROM users WHERE address = ?", addr); err != nil || ok {
			if err == nil {
				err = fmt.Errorf("user %s: %w", addr, ErrExists)
			}
			return err
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO users(address, domain, password_hash, quota_bytes, created_at)
			VALUES (?, ?, ?, ?, ?)`, addr, domain, hash, o.QuotaBytes, now)
		return wrapDB("add user", err)
	})
	if err != nil {
		return User{}, err
	}
	return User{Address: addr, Domain: domain, QuotaBytes: o.QuotaBytes, CreatedAt: fromUnix(now)}, nil
}

const userSelect = `SELECT u.address, u.domain, u.disabled, u.quota_bytes, u.created_at,
	(SELECT count(*) FROM app_passwords a WHERE a.user = u.address)
	FROM users u`

type rowScanner interface{ Scan(dest ...any) error }

func scanUser(r rowScanner) (User, error) {
	var u User
	var created int64
	err := r.Scan(&u.Address, &u.Domain, &u.Disabled, &u.QuotaBytes, &created, &u.AppPasswords)
	u.CreatedAt = fromUnix(created)
	return u, err
}

// GetUser returns a user; ErrNotFound if there is none (or the address is invalid).
func (s *Store) GetUser(ctx context.Context, address string) (User, error) {
	addr, err := NormalizeAddress(address)
	if err != nil {
		return User{}, fmt.Errorf("user %q: %w", clip(address), errors.Join(ErrNotFound, err))
	}
	u, err := scanUser(s.r.QueryRowContext(ctx, userSelect+" WHERE u.address = ?", addr))
	if errors.Is(err, sql.ErrNoRows) {
		return User{}, fmt.Errorf("user %s: %w", addr, ErrNotFound)
	}
	if err != nil {
		return User{}, wrapDB("get user", err)
	}
	return u, nil
}

// ListUsers returns the users of one domain, or of all domains when domain is "", sorted
// by address. ErrNotFound if a named domain is not local.
func (s *Store) ListUsers(ctx context.Context, domain string) ([]User, error) {
	var out []User
	err := s.readTx(ctx, func(tx *sql.Tx) error {
		query, args := userSelect+" ORDER BY u.address", []any(nil)
		if domain != "" {
			d, err := NormalizeDomain(domain)
			if err != nil {
				return err
			}
			if ok, err := exists(ctx, tx, "SELECT 1 FROM domains WHERE name = ?", d); err != nil || !ok {
				if err == nil {
					err = fmt.Errorf("domain %s: %w", d, ErrNotFound)
				}
				return err
			}
			query, args = userSelect+" WHERE u.domain = ? ORDER BY u.address", []any{d}
		}
		rows, err := tx.QueryContext(ctx, query, args...)
		if err != nil {
			return wrapDB("list users", err)
		}
		defer rows.Close()
		for rows.Next() {
			u, err := scanUser(rows)
			if err != nil {
				return wrapDB("list users", err)
			}
			out = append(out, u)
		}
		return wrapDB("list users", rows.Err())
	})
	return out, err
}

// RemoveUser deletes a user with its app passwords (and, from schema 2, its mailbox
// index). It does not touch the Maildir: deleting mail is left to the operator. Aliases
// pointing at the address are kept: they may be meant for a future user.
func (s *Store) RemoveUser(ctx context.Context, address string) error {
	addr, err := NormalizeAddress(address)
	if err != nil {
		return err
	}
	defer s.auth.forget(addr)
	defer s.sieveGen.Add(1) // the user's scripts go with it
	return s.updateUser(ctx, addr, "DELETE FROM users WHERE address = ?", addr)
}

// SetPassword replaces a user's password (app passwords stay valid).
func (s *Store) SetPassword(ctx context.Context, address, password string) error {
	addr, err := NormalizeAddress(address)
	if err != nil {
		return err
	}
	if err := checkNewPassword(password); err != nil {
		return err
	}
	hash, err := s.hash(ctx, password)
	if err != nil {
		return err
	}
	defer s.auth.forget(addr)
	return s.updateUser(ctx, addr, "UPDATE users SET password_hash = ? WHERE address = ?", hash, addr)
}

// SetDisabled disables or re-enables a user. A disabled user cannot authenticate (with
// any password) but still receives mail.
func (s *Store) SetDisabled(ctx context.Context, address string, disabled bool) error {
	addr, err := NormalizeAddress(address)
	if err != nil {
		return err
	}
	defer s.auth.forget(addr)
	return s.updateUser(ctx, addr, "UPDATE users SET disabled = ? WHERE address = ?", disabled, addr)
}

// SetQuota sets a user's quota in bytes; 0 = unlimited.
func (s *Store) SetQuota(ctx context.Context, address string, bytes int64) error {
	addr, err := NormalizeAddress(address)
	if err != nil {
		return err
	}
	if bytes < 0 {
		return fmt.Errorf("%w: negative quota", ErrInvalid)
	}
	return s.updateUser(ctx, addr, "UPDATE users SET quota_bytes = ? WHERE address = ?", bytes, addr)
}

// updateUser runs one statement that must touch exactly the user addr.
func (s *Store) updateUser(ctx context.Context, addr, query string, args ...any) error {
	return s.writeTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, query, args...)
		if err != nil {
			return wrapDB("update user", err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return fmt.Errorf("user %s: %w", addr, ErrNotFound)
		}
		return nil
	})
}
