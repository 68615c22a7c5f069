package store

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"fmt"
	"strings"
	"time"
	"unicode"
)

// AppPassword is a named, revocable extra password of a user, usable wherever the
// account password is (IMAP, submission, ManageSieve).
type AppPassword struct {
	Name      string
	CreatedAt time.Time
	LastUsed  time.Time // zero if never used; updated at most once a minute
}

// The secret is 16 characters drawn uniformly from 36 (log2(36^16) = 82.7 bits), shown
// as four groups of four so it can be typed on a phone. With that much entropy a
// brute-force search is hopeless, so it is stored as a plain SHA-256.
const (
	appAlphabet   = "abcdefghijklmnopqrstuvwxyz0123456789"
	appSecretLen  = 16
	appGroupLen   = 4
	maxAppNameLen = 64
)

// AddAppPassword generates a random secret for the user, stores its hash under name and
// returns the secret, which is never retrievable again. ErrNotFound if the user does not
// exist, ErrExists if the name is taken.
func (s *Store) AddAppPassword(ctx context.Context, address, name string) (string, AppPassword, error) {
	addr, err := NormalizeAddress(address)
	if err != nil {
		return "", AppPassword{}, err
	}
	if err := checkAppName(name); err != nil {
		return "", AppPassword{}, err
	}
	secret, err := newAppSecret()
	if err != nil {
		return "", AppPassword{}, err
	}
	canon, _ := canonicalAppSecret(secret)
	sum := sha256.Sum256([]byte(canon))
	now := s.unix()
	err = s.writeTx(ctx, func(tx *sql.Tx) error {
		if ok, err := exists(ctx, tx, "SELECT 1 FROM users WHERE address = ?", addr); err != nil || !ok {
			if err == nil {
				err = fmt.Errorf("user %s: %w", addr, ErrNotFound)
			}
			return err
		}
		if ok, err := exists(ctx, tx, "SELECT 1 FROM app_passwords WHERE user = ? AND name = ?", addr, name); err != nil || ok {
			if err == nil {
				err = fmt.Errorf("app password %q of %s: %w", name, addr, ErrExists)
			}
			return err
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO app_passwords(user, name, secret_sha256, created_at)
			VALUES (?, ?, ?, ?)`, addr, name, sum[:], now)
		return wrapDB("add app password", err)
	})
	if err != nil {
		return "", AppPassword{}, err
	}
	return secret, AppPassword{Name: name, CreatedAt: fromUnix(now)}, nil
}

// ListAppPasswords returns a user's app passwords sorted by name. ErrNotFound if the user
// does not exist.
func (s *Store) ListAppPasswords(ctx context.Context, address string) ([]AppPassword, error) {
	addr, err := NormalizeAddress(address)
	if err != nil {
		return nil, err
	}
	var out []AppPassword
	err = s.readTx(ctx, func(tx *sql.Tx) error {
		if ok, err := exists(ctx, tx, "SELECT 1 FROM users WHERE address = ?", addr); err != nil || !ok {
			if err == nil {
				err = fmt.Errorf("user %s: %w", addr, ErrNotFound)
			}
			return err
		}
		rows, err := tx.QueryContext(ctx, "SELECT name, created_at, last_used FROM app_passwords WHERE user = ? ORDER BY name", addr)
		if err != nil {
			return wrapDB("list app passwords", err)
		}
		defer rows.Close()
		for rows.Next() {
			var a AppPassword
			var created, used int64
			if err := rows.Scan(&a.Name, &created, &used); err != nil {
				return wrapDB("list app passwords", err)
			}
			a.CreatedAt, a.LastUsed = fromUnix(created), fromUnix(used)
			out = append(out, a)
		}
		return wrapDB("list app passwords", rows.Err())
	})
	return out, err
}

// RevokeAppPassword deletes one app password; ErrNotFound if the user has none by that name.
func (s *Store) RevokeAppPassword(ctx context.Context, address, name string) error {
	addr, err := NormalizeAddress(address)
	if err != nil {
		return err
	}
	return s.writeTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, "DELETE FROM app_passwords WHERE user = ? AND name = ?", addr, name)
		if err != nil {
			return wrapDB("revoke app password", err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return fmt.Errorf("app password %q of %s: %w", name, addr, ErrNotFound)
		}
		return nil
	})
}

func checkAppName(name string) error {
	if name == "" || len(name) > maxAppNameLen {
		return fmt.Errorf("%w: app password name must be 1 to %d bytes", ErrInvalid, maxAppNameLen)
	}
	if strings.TrimSpace(name) != name {
		return fmt.Errorf("%w: app password name %q has leading or trailing space", ErrInvalid, name)
	}
	for _, r := range name {
		if !unicode.IsPrint(r) {
			return fmt.Errorf("%w: app password name %q has a non-printable character", ErrInvalid, name)
		}
	}
	return nil
}

// newAppSecret returns "xxxx-xxxx-xxxx-xxxx" with characters drawn uniformly from
// appAlphabet (rejection sampling avoids the modulo bias).
func newAppSecret() (string, error) {
	const limit = 256 - 256%len(appAlphabet)
	var b strings.Builder
	buf := make([]byte, 32)
	n := 0
	for n < appSecretLen {
		if _, err := rand.Read(buf); err != nil {
			return "", fmt.Errorf("store: random: %w", err)
		}
		for _, c := range buf {
			if int(c) >= limit || n == appSecretLen {
				continue
			}
			if n > 0 && n%appGroupLen == 0 {
				b.WriteByte('-')
			}
			b.WriteByte(appAlphabet[int(c)%len(appAlphabet)])
			n++
		}
	}
	return b.String(), nil
}

// canonicalAppSecret forgives how people type a secret read off a screen: any case, with
// or without the dashes, or with spaces instead. ok is false if it cannot be an app secret.
func canonicalAppSecret(p string) (string, bool) {
	if len(p) > 2*appSecretLen {
		return "", false
	}
	var b strings.Builder
	for i := 0; i < len(p); i++ {
		c := p[i]
		switch {
		case c == '-' || c == ' ':
		case c >= 'A' && c <= 'Z':
			b.WriteByte(c + 'a' - 'A')
		case c >= 'a' && c <= 'z' || c >= '0' && c <= '9':
			b.WriteByte(c)
		default:
			return "", false
		}
	}
	if b.Len() != appSecretLen {
		return "", false
	}
	return b.String(), true
}
