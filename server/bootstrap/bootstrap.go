package bootstrap

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"

	"github.com/postern/postern/internal/fileowner"
	"github.com/postern/postern/server/config"
	"github.com/postern/postern/server/deliver"
	"github.com/postern/postern/store"
)

// Request is what `postern init` asks of a fresh state directory: the first
// domain and, when Password is set, its first user.
type Request struct {
	Domain   string
	User     string // "" = no user yet
	Password string // "" = do not create User (the caller prints the command instead)
	// Owner, when set (uid, gid), is given the state directory tree afterwards: init runs
	// as root, the daemon as its own user.
	Owner *[2]int
}

// Result says what Run did.
type Result struct {
	DomainAdded bool // false: it was already there
	UserAdded   bool // false: no password given, or the user was already there
	UserExisted bool
	// OwnerAliases are the role addresses (postmaster@, abuse@) this run pointed at the
	// user; those already there, as an alias or a user, are left as they are.
	OwnerAliases []string
}

// OwnerNames are the role addresses (RFC 2142, RFC 5321 section 4.5.1) that init points
// at the first user, as every MTA's setup aliases postmaster to a real person: mail from
// the machine's services reaches its owner through postmaster@, and abuse reports a
// person.
func OwnerNames() []string { return []string{"postmaster", "abuse"} }

// ErrStateLocked is returned by Run when it cannot take the state directory's lock,
// most often because the daemon runs; the caller falls back to the admin commands.
var ErrStateLocked = errors.New("cannot take the state directory's lock")

// Run creates the state directory, the database, the domain and the first user with
// its mailboxes and the aliases postmaster@ and abuse@ to it, exactly as the admin commands would through a running daemon. It takes
// the state directory's lock first, so it never writes under a running daemon. Existing
// domains and users are left as they are, which makes it safe to run again.
func Run(ctx context.Context, cfg *config.Config, r Request) (Result, error) {
	if err := os.MkdirAll(cfg.StateDir, 0o750); err != nil {
		return Result{}, fmt.Errorf("creating %s: %w", cfg.StateDir, err)
	}
	lock, err := store.LockDir(cfg.StateDir)
	if err != nil {
		return Result{}, fmt.Errorf("%w: %w", ErrStateLocked, err)
	}
	res, err := bootstrapStore(ctx, cfg, r)
	if err == nil && r.Owner != nil {
		// After the store is closed, so that SQLite's side files are settled.
		err = fileowner.Tree(cfg.StateDir, r.Owner[0], r.Owner[1])
	}
	if cerr := lock.Close(); err == nil && cerr != nil {
		err = cerr
	}
	return res, err
}

func bootstrapStore(ctx context.Context, cfg *config.Config, r Request) (Result, error) {
	var res Result
	// Quiet: init's output is for the admin, not the migrations' log lines.
	st, err := store.Open(ctx, cfg.DBPath(), store.Options{Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		return res, err
	}
	defer st.Close()
	switch _, err := st.AddDomain(ctx, r.Domain); {
	case err == nil:
		res.DomainAdded = true
	case !errors.Is(err, store.ErrExists):
		return res, fmt.Errorf("adding domain %s: %w", r.Domain, err)
	}
	if r.User != "" && r.Password != "" {
		u, err := st.AddUser(ctx, r.User, r.Password, store.UserOptions{})
		switch {
		case err == nil:
			res.UserAdded = true
			if err := deliver.PrepareUser(ctx, st, cfg.MailDir(), u.Address); err != nil {
				return res, fmt.Errorf("user %s created, but preparing its mailbox failed: %w", u.Address, err)
			}
		case errors.Is(err, store.ErrExists):
			res.UserExisted = true
		default:
			return res, fmt.Errorf("adding user %s: %w", r.User, err)
		}
		if res.OwnerAliases, err = addOwnerAliases(ctx, st, r.Domain, r.User); err != nil {
			return res, err
		}
	}
	return res, nil
}

// addOwnerAliases makes each of OwnerNames at domain an alias of user, unless the
// address is taken (a user, or an alias already: an admin's choice is kept).
func addOwnerAliases(ctx context.Context, st *store.Store, domain, user string) ([]string, error) {
	var added []string
	for _, name := range OwnerNames() {
		src, err := store.NormalizeAddress(name + "@" + domain)
		if err != nil {
			return added, err
		}
		if _, err := st.GetUser(ctx, src); err == nil {
			continue
		} else if !errors.Is(err, store.ErrNotFound) {
			return added, fmt.Errorf("looking up %s: %w", src, err)
		}
		targets, err := st.AliasTargets(ctx, src)
		if err != nil {
			return added, fmt.Errorf("looking up alias %s: %w", src, err)
		}
		if len(targets) > 0 {
			continue
		}
		if err := st.AddAlias(ctx, src, []string{user}); err != nil {
			return added, fmt.Errorf("adding alias %s -> %s: %w", src, user, err)
		}
		added = append(added, src)
	}
	return added, nil
}
