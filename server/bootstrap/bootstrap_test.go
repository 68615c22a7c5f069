package bootstrap

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"syscall"
	"testing"

	"github.com/postern/postern/server/config"
	"github.com/postern/postern/store"
)

func bootstrapConfig(t *testing.T) *config.Config {
	t.Helper()
	cfg := config.Default()
	cfg.Hostname = "mail.example.com"
	cfg.StateDir = filepath.Join(t.TempDir(), "state")
	return &cfg
}

func TestBootstrapCreatesDomainUserAndMailboxes(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	cfg := bootstrapConfig(t)
	res, err := Run(ctx, cfg, Request{Domain: "Example.com", User: "You@example.com", Password: "correct horse battery"})
	if err != nil {
		t.Fatal(err)
	}
	if !res.DomainAdded || !res.UserAdded || res.UserExisted {
		t.Errorf("result %+v, want the domain and the user added", res)
	}
	if fi, err := os.Stat(cfg.StateDir); err != nil || fi.Mode().Perm() != 0o750 {
		t.Errorf("state dir: %v %v, want mode 0750", fi, err)
	}
	for _, dir := range []string{"cur", "new", "tmp", ".Sent/cur", ".Drafts/new", ".Trash/tmp"} {
		if _, err := os.Stat(filepath.Join(cfg.MailDir(), "example.com", "you", dir)); err != nil {
			t.Errorf("maildir: %v", err)
		}
	}

	// Running again changes nothing and says so.
	res, err = Run(ctx, cfg, Request{Domain: "example.com", User: "you@example.com", Password: "another password"})
	if err != nil {
		t.Fatal(err)
	}
	if res.DomainAdded || res.UserAdded || !res.UserExisted {
		t.Errorf("second run %+v, want nothing added and the user reported as existing", res)
	}

	st, err := store.Open(ctx, cfg.DBPath(), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if _, err := st.Authenticate(ctx, "you@example.com", "correct horse battery"); err != nil {
		t.Errorf("the first user cannot log in with the first password: %v", err)
	}
	if _, err := st.Authenticate(ctx, "you@example.com", "another password"); err == nil {
		t.Error("the second run changed the password")
	}
	mbs, err := st.ListMailboxes(ctx, "you@example.com")
	if err != nil {
		t.Fatal(err)
	}
	if len(mbs) != len(store.DefaultMailboxes()) {
		t.Errorf("%d mailboxes in the index, want %d", len(mbs), len(store.DefaultMailboxes()))
	}
}

func TestBootstrapWithoutPasswordAddsOnlyTheDomain(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	cfg := bootstrapConfig(t)
	res, err := Run(ctx, cfg, Request{Domain: "example.com", User: "you@example.com"})
	if err != nil {
		t.Fatal(err)
	}
	if !res.DomainAdded || res.UserAdded {
		t.Errorf("result %+v, want the domain alone", res)
	}
	if _, err := os.Stat(filepath.Join(cfg.MailDir(), "example.com", "you")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a maildir for a user without a password: %v", err)
	}
}

func TestBootstrapRefusesALockedStateDir(t *testing.T) {
	t.Parallel()
	cfg := bootstrapConfig(t)
	if err := os.MkdirAll(cfg.StateDir, 0o750); err != nil {
		t.Fatal(err)
	}
	lock, err := store.LockDir(cfg.StateDir) // as the running daemon holds it
	if err != nil {
		t.Fatal(err)
	}
	defer lock.Close()
	_, err = Run(context.Background(), cfg, Request{Domain: "example.com"})
	if !errors.Is(err, ErrStateLocked) {
		t.Fatalf("Bootstrap under a held lock: %v, want ErrStateLocked", err)
	}
	if _, err := os.Stat(cfg.DBPath()); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the database was created under a held lock: %v", err)
	}
}

func TestBootstrapRejectsABadUser(t *testing.T) {
	t.Parallel()
	cfg := bootstrapConfig(t)
	_, err := Run(context.Background(), cfg, Request{Domain: "example.com", User: "you@elsewhere.org", Password: "pw pw pw pw"})
	if err == nil {
		t.Fatal("a user outside the domain was accepted")
	}
}

func TestBootstrapGivesTheTreeToOwner(t *testing.T) {
	t.Parallel()
	cfg := bootstrapConfig(t)
	uid, gid := os.Getuid(), os.Getgid() // chown to ourselves works without root
	if _, err := Run(context.Background(), cfg, Request{Domain: "example.com", User: "you@example.com",
		Password: "pw pw pw pw", Owner: &[2]int{uid, gid}}); err != nil {
		t.Fatal(err)
	}
	if os.Getuid() != 0 {
		return
	}
	// As root: a second run hands everything to nobody.
	if _, err := Run(context.Background(), cfg, Request{Domain: "example.com", Owner: &[2]int{65534, 65534}}); err != nil {
		t.Fatal(err)
	}
	err := filepath.WalkDir(cfg.StateDir, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		if owner := fileOwner(fi); owner != 65534 {
			t.Errorf("%s is owned by %d after the hand-over", p, owner)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func fileOwner(fi os.FileInfo) int {
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		return int(st.Uid)
	}
	return -1
}

func TestBootstrapAliasesPostmasterAndAbuseToTheUser(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	cfg := bootstrapConfig(t)
	res, err := Run(ctx, cfg, Request{Domain: "example.com", User: "You@example.com", Password: "correct horse battery"})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(res.OwnerAliases, []string{"postmaster@example.com", "abuse@example.com"}) {
		t.Errorf("owner aliases %q", res.OwnerAliases)
	}
	st, err := store.Open(ctx, cfg.DBPath(), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	for _, src := range []string{"postmaster@example.com", "abuse@example.com"} {
		if ts, err := st.AliasTargets(ctx, src); err != nil || !slices.Equal(ts, []string{"you@example.com"}) {
			t.Errorf("%s -> %q, %v; want you@example.com", src, ts, err)
		}
	}
	// An admin's own choice stays: abuse@ sent elsewhere is not touched by a second run.
	if err := st.RemoveAlias(ctx, "abuse@example.com", nil); err != nil {
		t.Fatal(err)
	}
	if err := st.AddAlias(ctx, "abuse@example.com", []string{"security@example.org"}); err != nil {
		t.Fatal(err)
	}
	st.Close()
	res, err = Run(ctx, cfg, Request{Domain: "example.com", User: "you@example.com", Password: "correct horse battery"})
	if err != nil || len(res.OwnerAliases) != 0 {
		t.Fatalf("second run: %+v %v, want nothing added", res, err)
	}
	st, err = store.Open(ctx, cfg.DBPath(), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if ts, _ := st.AliasTargets(ctx, "abuse@example.com"); !slices.Equal(ts, []string{"security@example.org"}) {
		t.Errorf("abuse@ -> %q after a second run, want the admin's target kept", ts)
	}
	if ts, _ := st.AliasTargets(ctx, "postmaster@example.com"); len(ts) != 1 {
		t.Errorf("postmaster@ -> %q after a second run, want one target", ts)
	}
}

func TestBootstrapWithoutUserAddsNoAliases(t *testing.T) {
	t.Parallel()
	cfg := bootstrapConfig(t)
	res, err := Run(context.Background(), cfg, Request{Domain: "example.com", User: "you@example.com"})
	if err != nil || len(res.OwnerAliases) != 0 {
		t.Errorf("%+v %v: aliases to a user that does not exist", res, err)
	}
}
