package store

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
)

// Alias maps a source ("local@domain", or "@domain" for the domain's catch-all) to one or
// more target addresses, local or external. Resolution order (exact alias, then user,
// then catch-all, +detail stripping) is the server's policy, not the store's.
type Alias struct {
	Source  string
	Targets []string
}

// maxAliasTargets bounds one alias so a typo cannot make a delivery fan out without end.
const maxAliasTargets = 1000

// AddAlias adds targets to source, creating the alias if needed; adding a target already
// there is a no-op. The source's domain must be local (ErrNotFound wrapped). Targets are
// normalised like any address; a target in a local domain is matched against users as is.
func (s *Store) AddAlias(ctx context.Context, source string, targets []string) error {
	src, domain, err := NormalizeAliasSource(source)
	if err != nil {
		return err
	}
	if len(targets) == 0 {
		return fmt.Errorf("%w: alias %s needs at least one target", ErrInvalid, src)
	}
	norm, err := normalizeTargets(targets)
	if err != nil {
		return fmt.Errorf("alias %s: %w", src, err)
	}
	for _, t := range norm {
		if t == src {
			return fmt.Errorf("%w: alias %s points at itself", ErrInvalid, src)
		}
	}
	return s.writeTx(ctx, func(tx *sql.Tx) error {
		if ok, err := exists(ctx, tx, "SELECT 1 FROM domains WHERE name = ?", domain); err != nil || !ok {
			if err == nil {
				err = fmt.Errorf("domain %s of alias %s is not local: %w", domain, src, ErrNotFound)
			}
			return err
		}
		var have int
		if err := tx.QueryRowContext(ctx, "SELECT count(*) FROM alias_targets WHERE source = ?", src).Scan(&have); err != nil {
			return wrapDB("add alias", err)
		}
		if have+len(norm) > maxAliasTargets {
			return fmt.Errorf("%w: alias %s would have more than %d targets", ErrInvalid, src, maxAliasTargets)
		}
		stmt, err := tx.PrepareContext(ctx, "INSERT INTO alias_targets(source, domain, target) VALUES (?, ?, ?) ON CONFLICT DO NOTHING")
		if err != nil {
			return wrapDB("add alias", err)
		}
		defer stmt.Close()
		for _, t := range norm {
			if _, err := stmt.ExecContext(ctx, src, domain, t); err != nil {
				return wrapDB("add alias", err)
			}
		}
		return nil
	})
}

// RemoveAlias removes the given targets from source, or the whole alias when targets is
// empty. ErrNotFound if the alias, or any named target, does not exist (nothing is removed
// then).
func (s *Store) RemoveAlias(ctx context.Context, source string, targets []string) error {
	src, _, err := NormalizeAliasSource(source)
	if err != nil {
		return err
	}
	norm, err := normalizeTargets(targets)
	if err != nil {
		return fmt.Errorf("alias %s: %w", src, err)
	}
	return s.writeTx(ctx, func(tx *sql.Tx) error {
		if len(norm) == 0 {
			res, err := tx.ExecContext(ctx, "DELETE FROM alias_targets WHERE source = ?", src)
			if err != nil {
				return wrapDB("remove alias", err)
			}
			if n, _ := res.RowsAffected(); n == 0 {
				return fmt.Errorf("alias %s: %w", src, ErrNotFound)
			}
			return nil
		}
		for _, t := range norm {
			res, err := tx.ExecContext(ctx, "DELETE FROM alias_targets WHERE source = ? AND target = ?", src, t)
			if err != nil {
				return wrapDB("remove alias", err)
			}
			if n, _ := res.RowsAffected(); n == 0 {
				return fmt.Errorf("alias %s has no target %s: %w", src, t, ErrNotFound)
			}
		}
		return nil
	})
}

// ListAliases returns the aliases of one domain, or all when domain is "", sorted by
// source, each with its targets sorted.
func (s *Store) ListAliases(ctx context.Context, domain string) ([]Alias, error) {
	query, args := "SELECT source, target FROM alias_targets ORDER BY source, target", []any(nil)
	if domain != "" {
		d, err := NormalizeDomain(domain)
		if err != nil {
			return nil, err
		}
		query, args = "SELECT source, target FROM alias_targets WHERE domain = ? ORDER BY source, target", []any{d}
	}
	rows, err := s.r.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, wrapDB("list aliases", err)
	}
	defer rows.Close()
	var out []Alias
	for rows.Next() {
		var src, t string
		if err := rows.Scan(&src, &t); err != nil {
			return nil, wrapDB("list aliases", err)
		}
		if n := len(out); n == 0 || out[n-1].Source != src {
			out = append(out, Alias{Source: src})
		}
		out[len(out)-1].Targets = append(out[len(out)-1].Targets, t)
	}
	return out, wrapDB("list aliases", rows.Err())
}

// AliasTargets returns the targets of exactly source (no catch-all fallback: ask for
// "@domain" for that), sorted; nil, nil when there is no such alias.
func (s *Store) AliasTargets(ctx context.Context, source string) ([]string, error) {
	src, _, err := NormalizeAliasSource(source)
	if err != nil {
		return nil, err
	}
	rows, err := s.r.QueryContext(ctx, "SELECT target FROM alias_targets WHERE source = ? ORDER BY target", src)
	if err != nil {
		return nil, wrapDB("alias targets", err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var t string
		if err := rows.Scan(&t); err != nil {
			return nil, wrapDB("alias targets", err)
		}
		out = append(out, t)
	}
	return out, wrapDB("alias targets", rows.Err())
}

func normalizeTargets(targets []string) ([]string, error) {
	out := make([]string, 0, len(targets))
	for _, t := range targets {
		n, err := NormalizeAddress(t)
		if err != nil {
			return nil, fmt.Errorf("target: %w", err)
		}
		out = append(out, n)
	}
	slices.Sort(out)
	return slices.Compact(out), nil
}
