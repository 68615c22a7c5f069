package dovecot

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/postern/postern/store"
)

// UserStore is what ImportUsers needs of Postern's store.
type UserStore interface {
	HasDomain(ctx context.Context, name string) (bool, error)
	AddDomain(ctx context.Context, name string) (store.Domain, error)
	GetUser(ctx context.Context, address string) (store.User, error)
	ImportUser(ctx context.Context, address, hash string, o store.UserOptions) (store.User, error)
}

// UserResult is the outcome for one passwd-file entry.
type UserResult struct {
	Line       int
	Address    string
	Scheme     string
	QuotaBytes int64
	Action     string // "created", "exists" (left as it is), "would create", "error"
	Err        string
}

// DomainsAdded lists the domains ImportUsers added (or would add, in a dry run).
type ImportUsersResult struct {
	Users   []UserResult
	Domains []string
}

// Address returns the entry's address, adding defaultDomain to a bare user name.
func (e PasswdEntry) Address(defaultDomain string) (string, error) {
	u := strings.ToLower(e.User)
	if !strings.Contains(u, "@") {
		if defaultDomain == "" {
			return "", fmt.Errorf("user %q has no domain; pass --domain", e.User)
		}
		u += "@" + strings.ToLower(defaultDomain)
	}
	return store.NormalizeAddress(u)
}

// ImportUsers creates a Postern user for each entry with its password hash and quota.
// Missing domains are added. Users that exist are left alone (so a second run changes
// nothing); an entry that cannot be imported is reported and the others go on.
func ImportUsers(ctx context.Context, st UserStore, entries []PasswdEntry, defaultDomain string, dryRun bool) (ImportUsersResult, error) {
	var out ImportUsersResult
	added := map[string]bool{}
	for _, e := range entries {
		if err := ctx.Err(); err != nil {
			return out, err
		}
		r := importOne(ctx, st, e, defaultDomain, dryRun, added, &out)
		out.Users = append(out.Users, r)
	}
	return out, nil
}

func importOne(ctx context.Context, st UserStore, e PasswdEntry, defaultDomain string, dryRun bool, added map[string]bool, out *ImportUsersResult) UserResult {
	r := UserResult{Line: e.Line, Address: e.User}
	fail := func(err error) UserResult { r.Action, r.Err = "error", err.Error(); return r }
	addr, err := e.Address(defaultDomain)
	if err != nil {
		return fail(err)
	}
	r.Address = addr
	hash := e.Password
	if !strings.HasPrefix(hash, "{") {
		hash = "{CRYPT}" + hash // Dovecot's default scheme for passwd-file
	}
	r.Scheme = passhashScheme(hash)
	if r.QuotaBytes, err = e.QuotaBytes(); err != nil {
		return fail(err)
	}
	if _, err := st.GetUser(ctx, addr); err == nil {
		r.Action = "exists"
		return r
	} else if !errors.Is(err, store.ErrNotFound) {
		return fail(err)
	}
	_, domain := store.SplitAddress(addr)
	ok, err := st.HasDomain(ctx, domain)
	if err != nil {
		return fail(err)
	}
	if !ok && !added[domain] {
		added[domain] = true
		out.Domains = append(out.Domains, domain)
		if !dryRun {
			if _, err := st.AddDomain(ctx, domain); err != nil && !errors.Is(err, store.ErrExists) {
				return fail(err)
			}
		}
	}
	if dryRun {
		r.Action = "would create"
		return r
	}
	if _, err := st.ImportUser(ctx, addr, hash, store.UserOptions{QuotaBytes: r.QuotaBytes}); err != nil {
		return fail(err)
	}
	r.Action = "created"
	return r
}
