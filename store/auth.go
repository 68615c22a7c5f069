package store

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"database/sql"
	"errors"
	"fmt"

	"github.com/postern/postern/store/passhash"
)

// credentials is what Authenticate needs of a user, read in one snapshot.
type credentials struct {
	user User
	phc  string
	apps []appHash
}

type appHash struct {
	name     string
	sum      []byte
	lastUsed int64
}

// Authenticate checks password against the user's password and each of the user's app
// passwords. Unknown user, disabled user and wrong password all return an error wrapping
// ErrAuthFailed with the reason in its text (for logs, not for the client), and take
// about the same time: an unknown user is verified against a dummy argon2id hash. A
// disabled user is refused only after verification, so the answer's timing does not
// reveal that the account is disabled. Other errors (database, context) are not
// ErrAuthFailed: the caller should answer with a temporary failure.
func (s *Store) Authenticate(ctx context.Context, address, password string) (User, error) {
	addr, err := NormalizeAddress(address)
	if err != nil || password == "" || len(password) > maxPasswordLen {
		if err := s.burn(ctx, password); err != nil {
			return User{}, err
		}
		return User{}, authFailed("malformed address or password", address)
	}
	cred, err := s.credentials(ctx, addr)
	if errors.Is(err, ErrNotFound) {
		if err := s.burn(ctx, password); err != nil {
			return User{}, err
		}
		return User{}, authFailed("unknown user", addr)
	}
	if err != nil {
		return User{}, err
	}

	if app := matchAppPassword(cred.apps, password); app != nil {
		if cred.user.Disabled {
			return User{}, authFailed("user is disabled", addr)
		}
		s.touchAppPassword(ctx, addr, app)
		return cred.user, nil
	}

	if passhash.IsForeign(cred.phc) {
		return s.authenticateForeign(ctx, cred, password)
	}
	now := s.now()
	if !s.auth.hit(addr, cred.phc, password, now) {
		h, err := parsePHC(cred.phc)
		if err != nil {
			s.log.Error("store: unusable password hash; reset it with postern user passwd", "user", addr, "err", err)
			if err := s.burn(ctx, password); err != nil {
				return User{}, err
			}
			return User{}, authFailed("stored password hash is unusable", addr)
		}
		ok, err := s.verifyShared(ctx, cred.phc, h, password)
		if err != nil {
			return User{}, err
		}
		if !ok {
			return User{}, authFailed("wrong password", addr)
		}
		if !cred.user.Disabled {
			s.auth.put(addr, cred.phc, password, now)
			if h.params != s.argon {
				s.rehash(ctx, addr, cred.phc, password)
			}
		}
	}
	if cred.user.Disabled {
		return User{}, authFailed("user is disabled", addr)
	}
	return cred.user, nil
}

// rehash upgrades a hash made under other argon2 parameters (Options.Argon2 changed) now
// that the password is known to be right. Compare-and-swap on the old hash, so a
// concurrent passwd wins. Failure is logged: the old hash still works.
func (s *Store) rehash(ctx context.Context, addr, old, password string) {
	h, err := s.hash(ctx, password)
	if err == nil {
		err = s.writeTx(ctx, func(tx *sql.Tx) error {
			_, err := tx.ExecContext(ctx, "UPDATE users SET password_hash = ? WHERE address = ? AND password_hash = ?", h, addr, old)
			return err
		})
	}
	if err != nil {
		s.log.Warn("store: upgrading password hash parameters", "user", addr, "err", err)
		return
	}
	s.auth.forget(addr)
}

func authFailed(reason, addr string) error {
	return fmt.Errorf("%w: %s: %s", ErrAuthFailed, clip(addr), reason)
}

func (s *Store) credentials(ctx context.Context, addr string) (credentials, error) {
	var c credentials
	err := s.readTx(ctx, func(tx *sql.Tx) error {
		var err error
		c.user, err = scanUser(tx.QueryRowContext(ctx, userSelect+" WHERE u.address = ?", addr))
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("user %s: %w", addr, ErrNotFound)
		}
		if err != nil {
			return wrapDB("authenticate", err)
		}
		if err := tx.QueryRowContext(ctx, "SELECT password_hash FROM users WHERE address = ?", addr).Scan(&c.phc); err != nil {
			return wrapDB("authenticate", err)
		}
		rows, err := tx.QueryContext(ctx, "SELECT name, secret_sha256, last_used FROM app_passwords WHERE user = ?", addr)
		if err != nil {
			return wrapDB("authenticate", err)
		}
		defer rows.Close()
		for rows.Next() {
			var a appHash
			if err := rows.Scan(&a.name, &a.sum, &a.lastUsed); err != nil {
				return wrapDB("authenticate", err)
			}
			c.apps = append(c.apps, a)
		}
		return wrapDB("authenticate", rows.Err())
	})
	return c, err
}

// matchAppPassword compares the password's SHA-256 with every app password's in constant
// time, without stopping at the first match.
func matchAppPassword(apps []appHash, password string) *appHash {
	canon, ok := canonicalAppSecret(password)
	if !ok || len(apps) == 0 {
		return nil
	}
	sum := sha256.Sum256([]byte(canon))
	var found *appHash
	for i := range apps {
		if subtle.ConstantTimeCompare(sum[:], apps[i].sum) == 1 {
			found = &apps[i]
		}
	}
	return found
}

// touchAppPassword records when an app password was last used, at most once a minute so
// that logins do not turn into writes. Failure is logged, never fatal to the login.
func (s *Store) touchAppPassword(ctx context.Context, addr string, a *appHash) {
	now := s.unix()
	if now-a.lastUsed < 60 {
		return
	}
	err := s.writeTx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, "UPDATE app_passwords SET last_used = ? WHERE user = ? AND name = ?", now, addr, a.name)
		return err
	})
	if err != nil {
		s.log.Warn("store: recording app password use", "user", addr, "name", a.name, "err", err)
	}
}

// hash computes a new argon2id hash, waiting for a slot in the hash semaphore.
func (s *Store) hash(ctx context.Context, password string) (string, error) {
	if err := s.acquireHash(ctx); err != nil {
		return "", err
	}
	defer func() { <-s.hashSem }()
	h, err := hashPassword(password, s.argon)
	if err != nil {
		return "", fmt.Errorf("store: hash password: %w", err)
	}
	return h, nil
}

func (s *Store) verify(ctx context.Context, h phc, password string) (bool, error) {
	if err := s.acquireHash(ctx); err != nil {
		return false, err
	}
	defer func() { <-s.hashSem }()
	return h.verify(password), nil
}

// burn spends one verification's worth of time and memory on the dummy hash.
func (s *Store) burn(ctx context.Context, password string) error {
	h, err := parsePHC(s.dummy)
	if err != nil {
		return fmt.Errorf("store: dummy hash: %w", err)
	}
	if len(password) > maxPasswordLen {
		password = password[:maxPasswordLen]
	}
	_, err = s.verify(ctx, h, password)
	return err
}

func (s *Store) acquireHash(ctx context.Context) error {
	select {
	case s.hashSem <- struct{}{}:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("store: waiting to hash a password: %w", ctx.Err())
	}
}
