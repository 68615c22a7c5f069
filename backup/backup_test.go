package backup

import (
	"context"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/postern/postern/store"
)

func openStore(t *testing.T, dir string) *store.Store {
	t.Helper()
	st, err := store.Open(context.Background(), filepath.Join(dir, "postern.db"), store.Options{
		Argon2: store.Argon2Params{MemoryKiB: 64, Time: 1, Threads: 1}, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	return st
}

func TestTakeRestoreKeepsUIDs(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	state := t.TempDir()
	st := openStore(t, state)
	defer st.Close()
	st.AddDomain(ctx, "example.test")
	st.AddUser(ctx, "alice@example.test", "pw", store.UserOptions{})
	cur := filepath.Join(state, "mail", "example.test", "alice", "cur")
	for _, d := range []string{"cur", "new", "tmp"} {
		os.MkdirAll(filepath.Join(filepath.Dir(cur), d), 0o700)
	}
	for _, n := range []string{"1.M1P1.h,S=3", "2.M2P1.h,S=3"} {
		os.WriteFile(filepath.Join(cur, n+":2,S"), []byte("a\n\n"), 0o600)
		if _, err := st.AddMessages(ctx, []store.NewMessage{{User: "alice@example.test", Mailbox: "INBOX", Filename: n, Size: 3, InternalDate: time.Now(), Flags: []string{`\Seen`}}}); err != nil {
			t.Fatal(err)
		}
	}
	os.MkdirAll(filepath.Join(state, "dkim"), 0o700)
	os.WriteFile(filepath.Join(state, "dkim", "key.pem"), []byte("secret"), 0o600)
	dest := filepath.Join(t.TempDir(), "b")
	m, err := Take(ctx, st, state, dest, nil)
	if err != nil {
		t.Fatal(err)
	}
	if m.Files != 3 || m.Linked != 2 || m.DBBytes == 0 {
		t.Fatalf("manifest %+v", m)
	}
	if _, err := Take(ctx, st, state, dest, nil); err == nil {
		t.Fatal("a second backup into the same non-empty directory was accepted")
	}

	fresh := filepath.Join(t.TempDir(), "state")
	if _, err := Restore(ctx, dest, fresh); err != nil {
		t.Fatal(err)
	}
	if _, err := Restore(ctx, dest, fresh); err == nil {
		t.Fatal("restore into a non-empty state directory was accepted")
	}
	st2 := openStore(t, fresh)
	defer st2.Close()
	rep, err := Verify(ctx, st2, filepath.Join(fresh, "mail"), m.Counters)
	if err != nil || rep.Messages != 2 || rep.Missing != 0 || rep.Unindexed != 0 {
		t.Fatalf("verify: %+v %v", rep, err)
	}
	mb, err := st2.GetMailbox(ctx, "alice@example.test", "INBOX")
	if err != nil || mb.Messages != 2 || mb.UIDNext != 3 {
		t.Fatalf("restored INBOX %+v %v", mb, err)
	}
	orig, _ := st.GetMailbox(ctx, "alice@example.test", "INBOX")
	if orig.UIDValidity != mb.UIDValidity {
		t.Fatalf("UIDVALIDITY changed: %d -> %d", orig.UIDValidity, mb.UIDValidity)
	}
	if b, err := os.ReadFile(filepath.Join(fresh, "dkim", "key.pem")); err != nil || string(b) != "secret" {
		t.Fatalf("dkim key not restored: %q %v", b, err)
	}
	if _, err := st2.Authenticate(ctx, "alice@example.test", "pw"); err != nil {
		t.Fatalf("restored user cannot log in: %v", err)
	}
}

func TestRestoreRefusesIncompleteBackup(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	os.MkdirAll(filepath.Join(dir, "state"), 0o700)
	if _, err := Restore(context.Background(), dir, filepath.Join(t.TempDir(), "s")); err == nil {
		t.Fatal("a backup without its manifest was restored")
	}
}
