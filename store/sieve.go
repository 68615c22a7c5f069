package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
	"unicode/utf8"
)

// SieveScript is one of a user's Sieve scripts. Listings leave Content empty and report
// its Size; GetScript fills both.
type SieveScript struct {
	Name      string
	Content   string
	Size      int64
	Active    bool
	UpdatedAt time.Time
}

// MaxSieveScriptName bounds a script name in bytes; RFC 5804 sets no limit, Pigeonhole
// allows 256 characters, and a name also ends up in logs and protocol lines.
const MaxSieveScriptName = 255

// CheckSieveScriptName applies RFC 5804 section 1.6: a script name is non-empty UTF-8
// without control characters (U+0000-U+001F, U+007F-U+009F) or the line and paragraph
// separators U+2028/U+2029. The store never interprets names otherwise (they are not
// paths), so these rules are the whole check.
func CheckSieveScriptName(name string) error {
	switch {
	case name == "":
		return fmt.Errorf("%w: empty script name", ErrInvalid)
	case len(name) > MaxSieveScriptName:
		return fmt.Errorf("%w: script name longer than %d bytes", ErrInvalid, MaxSieveScriptName)
	case !utf8.ValidString(name):
		return fmt.Errorf("%w: script name is not UTF-8", ErrInvalid)
	}
	for _, r := range name {
		if r < 0x20 || (r >= 0x7f && r <= 0x9f) || r == 0x2028 || r == 0x2029 {
			return fmt.Errorf("%w: script name %q contains a control character", ErrInvalid, name)
		}
	}
	return nil
}

// sieveUser normalises the owner's address and checks that the user exists, inside tx,
// so that "no such user" is ErrNotFound rather than a foreign-key failure.
func sieveUser(ctx context.Context, q querier, user string) (string, error) {
	addr, err := NormalizeAddress(user)
	if err != nil {
		return "", err
	}
	ok, err := exists(ctx, q, "SELECT 1 FROM users WHERE address = ?", addr)
	if err != nil {
		return "", err
	}
	if !ok {
		return "", fmt.Errorf("user %s: %w", addr, ErrNotFound)
	}
	return addr, nil
}

// PutScript stores a script under name, replacing an existing one of that name (and
// keeping it active if it was). The caller validates the content (compiles it): the
// store does not know Sieve.
func (s *Store) PutScript(ctx context.Context, user, name, content string) error {
	if err := CheckSieveScriptName(name); err != nil {
		return err
	}
	defer s.sieveGen.Add(1)
	return s.writeTx(ctx, func(tx *sql.Tx) error {
		addr, err := sieveUser(ctx, tx, user)
		if err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `INSERT INTO sieve_scripts(user, name, content, active, updated_at)
			VALUES (?, ?, ?, 0, ?)
			ON CONFLICT(user, name) DO UPDATE SET content = excluded.content, updated_at = excluded.updated_at`,
			addr, name, content, s.unix())
		return wrapDB("put sieve script", err)
	})
}

// GetScript returns one script with its content; ErrNotFound if the user has no script
// of that name.
func (s *Store) GetScript(ctx context.Context, user, name string) (SieveScript, error) {
	var sc SieveScript
	err := s.readTx(ctx, func(tx *sql.Tx) error {
		addr, err := sieveUser(ctx, tx, user)
		if err != nil {
			return err
		}
		var active int
		var updated int64
		err = tx.QueryRowContext(ctx, "SELECT name, content, active, updated_at FROM sieve_scripts WHERE user = ? AND name = ?",
			addr, name).Scan(&sc.Name, &sc.Content, &active, &updated)
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("sieve script %q of %s: %w", name, addr, ErrNotFound)
		}
		if err != nil {
			return wrapDB("get sieve script", err)
		}
		sc.Size, sc.Active, sc.UpdatedAt = int64(len(sc.Content)), active == 1, fromUnix(updated)
		return nil
	})
	return sc, err
}

// ListScripts returns the user's scripts sorted by name, without their content.
func (s *Store) ListScripts(ctx context.Context, user string) ([]SieveScript, error) {
	var out []SieveScript
	err := s.readTx(ctx, func(tx *sql.Tx) error {
		addr, err := sieveUser(ctx, tx, user)
		if err != nil {
			return err
		}
		rows, err := tx.QueryContext(ctx, `SELECT name, length(CAST(content AS BLOB)), active, updated_at
			FROM sieve_scripts WHERE user = ? ORDER BY name`, addr)
		if err != nil {
			return wrapDB("list sieve scripts", err)
		}
		defer rows.Close()
		for rows.Next() {
			var sc SieveScript
			var active int
			var updated int64
			if err := rows.Scan(&sc.Name, &sc.Size, &active, &updated); err != nil {
				return wrapDB("list sieve scripts", err)
			}
			sc.Active, sc.UpdatedAt = active == 1, fromUnix(updated)
			out = append(out, sc)
		}
		return wrapDB("list sieve scripts", rows.Err())
	})
	return out, err
}

// SetActive makes name the user's one active script, deactivating any other in the same
// transaction; name "" deactivates all (RFC 5804 section 2.8). ErrNotFound if name does
// not exist (nothing changes then).
func (s *Store) SetActive(ctx context.Context, user, name string) error {
	defer s.sieveGen.Add(1)
	return s.writeTx(ctx, func(tx *sql.Tx) error {
		addr, err := sieveUser(ctx, tx, user)
		if err != nil {
			return err
		}
		if name != "" {
			ok, err := exists(ctx, tx, "SELECT 1 FROM sieve_scripts WHERE user = ? AND name = ?", addr, name)
			if err != nil {
				return err
			}
			if !ok {
				return fmt.Errorf("sieve script %q of %s: %w", name, addr, ErrNotFound)
			}
		}
		// Deactivate first: the partial unique index allows one active row at a time.
		if _, err := tx.ExecContext(ctx, "UPDATE sieve_scripts SET active = 0 WHERE user = ? AND active = 1", addr); err != nil {
			return wrapDB("deactivate sieve script", err)
		}
		if name == "" {
			return nil
		}
		_, err = tx.ExecContext(ctx, "UPDATE sieve_scripts SET active = 1 WHERE user = ? AND name = ?", addr, name)
		return wrapDB("activate sieve script", err)
	})
}

// DeleteScript removes a script. The active script cannot be deleted (ErrInUse), as RFC
// 5804 section 2.10 requires: deactivate it first.
func (s *Store) DeleteScript(ctx context.Context, user, name string) error {
	defer s.sieveGen.Add(1)
	return s.writeTx(ctx, func(tx *sql.Tx) error {
		addr, err := sieveUser(ctx, tx, user)
		if err != nil {
			return err
		}
		var active int
		err = tx.QueryRowContext(ctx, "SELECT active FROM sieve_scripts WHERE user = ? AND name = ?", addr, name).Scan(&active)
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("sieve script %q of %s: %w", name, addr, ErrNotFound)
		}
		if err != nil {
			return wrapDB("delete sieve script", err)
		}
		if active == 1 {
			return fmt.Errorf("sieve script %q of %s is active: %w", name, addr, ErrInUse)
		}
		_, err = tx.ExecContext(ctx, "DELETE FROM sieve_scripts WHERE user = ? AND name = ?", addr, name)
		return wrapDB("delete sieve script", err)
	})
}

// RenameScript renames a script, keeping its content and active state (RFC 5804 section
// 2.11.1). ErrNotFound if oldName does not exist, ErrExists if newName does.
func (s *Store) RenameScript(ctx context.Context, user, oldName, newName string) error {
	if err := CheckSieveScriptName(newName); err != nil {
		return err
	}
	defer s.sieveGen.Add(1)
	return s.writeTx(ctx, func(tx *sql.Tx) error {
		addr, err := sieveUser(ctx, tx, user)
		if err != nil {
			return err
		}
		ok, err := exists(ctx, tx, "SELECT 1 FROM sieve_scripts WHERE user = ? AND name = ?", addr, oldName)
		if err != nil {
			return err
		}
		if !ok {
			return fmt.Errorf("sieve script %q of %s: %w", oldName, addr, ErrNotFound)
		}
		if ok, err := exists(ctx, tx, "SELECT 1 FROM sieve_scripts WHERE user = ? AND name = ?", addr, newName); err != nil || ok {
			if err == nil {
				err = fmt.Errorf("sieve script %q of %s: %w", newName, addr, ErrExists)
			}
			return err
		}
		_, err = tx.ExecContext(ctx, "UPDATE sieve_scripts SET name = ?, updated_at = ? WHERE user = ? AND name = ?",
			newName, s.unix(), addr, oldName)
		return wrapDB("rename sieve script", err)
	})
}

// ActiveScript returns the user's active script for delivery; ok is false when the user
// has none (or does not exist: delivery then just keeps the message).
func (s *Store) ActiveScript(ctx context.Context, user string) (name, content string, ok bool, err error) {
	addr, err := NormalizeAddress(user)
	if err != nil {
		return "", "", false, err
	}
	err = s.r.QueryRowContext(ctx, "SELECT name, content FROM sieve_scripts WHERE user = ? AND active = 1",
		addr).Scan(&name, &content)
	if errors.Is(err, sql.ErrNoRows) {
		return "", "", false, nil
	}
	if err != nil {
		return "", "", false, wrapDB("active sieve script", err)
	}
	return name, content, true, nil
}
