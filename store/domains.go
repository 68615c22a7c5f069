package store

import (
	"context"
	"database/sql"
	"fmt"
	"time"
)

// Domain is a domain we receive mail for, with how many users and aliases it has.
type Domain struct {
	Name      string
	CreatedAt time.Time
	Users     int
	Aliases   int // distinct alias sources, the catch-all included
}

// AddDomain adds a local domain. The name is validated and lower-cased (NormalizeDomain);
// ErrExists if it is already there.
func (s *Store) AddDomain(ctx context.Context, name string) (Domain, error) {
	d, err := NormalizeDomain(name)
	if err != nil {
		return Domain{}, err
	}
	now := s.unix()
	err = s.writeTx(ctx, func(tx *sql.Tx) error {
		if ok, err := exists(ctx, tx, "SELECT 1 FROM domains WHERE name = ?", d); err != nil || ok {
			if ok {
				return fmt.Errorf("domain %s: %w", d, ErrExists)
			}
			return err
		}
		_, err := tx.ExecContext(ctx, "INSERT INTO domains(name, created_at) VALUES (?, ?)", d, now)
		return wrapDB("add domain", err)
	})
	if err != nil {
		return Domain{}, err
	}
	return Domain{Name: d, CreatedAt: fromUnix(now)}, nil
}

const domainSelect = `SELECT d.name, d.created_at,
	(SELECT count(*) FROM users u WHERE u.domain = d.name),
	(SELECT count(DISTINCT a.source) FROM alias_targets a WHERE a.domain = d.name)
	FROM domains d`

// ListDomains returns all local domains sorted by name.
func (s *Store) ListDomains(ctx context.Context) ([]Domain, error) {
	rows, err := s.r.QueryContext(ctx, domainSelect+" ORDER BY d.name")
	if err != nil {
		return nil, wrapDB("list domains", err)
	}
	defer rows.Close()
	var out []Domain
	for rows.Next() {
		var d Domain
		var created int64
		if err := rows.Scan(&d.Name, &created, &d.Users, &d.Aliases); err != nil {
			return nil, wrapDB("list domains", err)
		}
		d.CreatedAt = fromUnix(created)
		out = append(out, d)
	}
	return out, wrapDB("list domains", rows.Err())
}

// GetDomain returns one domain; ErrNotFound if it is not local.
func (s *Store) GetDomain(ctx context.Context, name string) (Domain, error) {
	d, err := NormalizeDomain(name)
	if err != nil {
		return Domain{}, err
	}
	var out Domain
	var created int64
	err = s.r.QueryRowContext(ctx, domainSelect+" WHERE d.name = ?", d).Scan(&out.Name, &created, &out.Users, &out.Aliases)
	if err == sql.ErrNoRows {
		return Domain{}, fmt.Errorf("domain %s: %w", d, ErrNotFound)
	}
	if err != nil {
		return Domain{}, wrapDB("get domain", err)
	}
	out.CreatedAt = fromUnix(created)
	return out, nil
}

// RemoveDomain removes a local domain. ErrNotFound if absent, ErrInUse while users or
// aliases of it remain (remove those first: removing mail accounts is never implicit).
func (s *Store) RemoveDomain(ctx context.Context, name string) error {
	d, err := NormalizeDomain(name)
	if err != nil {
		return err
	}
	return s.writeTx(ctx, func(tx *sql.Tx) error {
		var users, aliases int
		err := tx.QueryRowContext(ctx, `SELECT
			(SELECT count(*) FROM users WHERE domain = ?1),
			(SELECT count(*) FROM alias_targets WHERE domain = ?1)`, d).Scan(&users, &aliases)
		if err != nil {
			return wrapDB("remove domain", err)
		}
		if users > 0 || aliases > 0 {
			return fmt.Errorf("domain %s has %d users and %d alias entries: %w", d, users, aliases, ErrInUse)
		}
		res, err := tx.ExecContext(ctx, "DELETE FROM domains WHERE name = ?", d)
		if err != nil {
			return wrapDB("remove domain", err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return fmt.Errorf("domain %s: %w", d, ErrNotFound)
		}
		return nil
	})
}

// HasDomain reports whether name is a local domain. An invalid name is simply not local.
func (s *Store) HasDomain(ctx context.Context, name string) (bool, error) {
	d, err := NormalizeDomain(name)
	if err != nil {
		return false, nil
	}
	return exists(ctx, s.r, "SELECT 1 FROM domains WHERE name = ?", d)
}
