package delivertest

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"testing"

	"github.com/postern/postern/store"
	"github.com/postern/postern/store/maildir"
)

// Domain is the local domain of Store; Users are its users, each with the password
// "password-" + name.
const Domain = "example.test"

// Users are the local parts of Store's users.
var Users = []string{"alice", "bob", "carol"}

// Store opens a store under a new temporary directory (dir, which the caller may use
// for the Maildirs and state) with Domain and Users, closed when the test ends. Password
// hashing is made cheap.
func Store(t testing.TB) (st *store.Store, dir string) {
	t.Helper()
	dir = t.TempDir()
	ctx := context.Background()
	st, err := store.Open(ctx, filepath.Join(dir, "postern.db"), store.Options{
		Argon2: store.Argon2Params{MemoryKiB: 64, Time: 1, Threads: 1}, Logger: DiscardLog()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	if _, err := st.AddDomain(ctx, Domain); err != nil {
		t.Fatal(err)
	}
	for _, u := range Users {
		if _, err := st.AddUser(ctx, u+"@"+Domain, "password-"+u, store.UserOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	return st, dir
}

// InboxFiles lists the message files in user@Domain's INBOX under the Maildir root mail.
func InboxFiles(t testing.TB, mail, user string) []string {
	t.Helper()
	entries, err := maildir.Scan(filepath.Join(mail, Domain, user))
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		t.Fatal(err)
	}
	var out []string
	for _, e := range entries {
		out = append(out, e.Path)
	}
	return out
}

// DiscardLog is a logger that writes nowhere.
func DiscardLog() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }
