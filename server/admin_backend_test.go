package server

import (
	"context"
	"io"
	"log/slog"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/postern/postern/admin"
	"github.com/postern/postern/server/config"
	"github.com/postern/postern/server/deliver"
	"github.com/postern/postern/store"
)

func newTestAdminBackend(t *testing.T) (admin.Backend, *store.Store) {
	t.Helper()
	st, err := store.Open(context.Background(), filepath.Join(t.TempDir(), "postern.db"), store.Options{
		Argon2: store.Argon2Params{MemoryKiB: 64, Time: 1, Threads: 1},
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	started := time.Date(2025, 5, 1, 0, 0, 0, 0, time.UTC)
	b := newAdminBackend(adminDeps{st: st, status: func() admin.Status {
		return admin.Status{Version: "test", PID: 7, StartedAt: started, Listeners: map[string]string{"smtp": "127.0.0.1:2525"}}
	}, compileSieve: deliver.SieveCompiler(st, "", "+")})
	return b, st
}

// wantCode checks an error's admin code and that its hint mentions hintPart.
func wantCode(t *testing.T, what string, err error, code, hintPart string) {
	t.Helper()
	if got := admin.ErrorCode(err); got != code {
		t.Errorf("%s: code %q (%v), want %q", what, got, err, code)
		return
	}
	if hint := admin.ErrorHint(err); !strings.Contains(hint, hintPart) {
		t.Errorf("%s: hint %q does not mention %q", what, hint, hintPart)
	}
}

func TestAdminBackendOverStore(t *testing.T) {
	t.Parallel()
	b, st := newTestAdminBackend(t)
	ctx := context.Background()

	s, err := b.Status(ctx)
	if err != nil || s.Version != "test" || s.SchemaVersion != st.SchemaVersion() || s.SchemaVersion == 0 ||
		s.Listeners["smtp"] != "127.0.0.1:2525" {
		t.Fatalf("Status = %+v, %v", s, err)
	}

	_, err = b.AddUser(ctx, admin.NewUser{Address: "alice@example.org", Password: "correct horse"})
	wantCode(t, "user in unknown domain", err, admin.CodeNotFound, "postern domain add example.org")

	d, err := b.AddDomain(ctx, "Example.ORG")
	if err != nil || d.Name != "example.org" {
		t.Fatalf("AddDomain = %+v, %v", d, err)
	}
	_, err = b.AddDomain(ctx, "example.org")
	wantCode(t, "domain twice", err, admin.CodeExists, "postern domain list")
	_, err = b.AddDomain(ctx, "nodot")
	wantCode(t, "invalid domain", err, admin.CodeInvalid, "")

	u, err := b.AddUser(ctx, admin.NewUser{Address: "Alice@example.org", Password: "correct horse", QuotaBytes: 1 << 30})
	if err != nil || u.Address != "alice@example.org" || u.QuotaBytes != 1<<30 || u.Domain != "example.org" {
		t.Fatalf("AddUser = %+v, %v", u, err)
	}
	_, err = b.AddUser(ctx, admin.NewUser{Address: "alice@example.org", Password: "correct horse"})
	wantCode(t, "user twice", err, admin.CodeExists, "postern user passwd alice@example.org")

	if err := b.SetPassword(ctx, "alice@example.org", "battery staple"); err != nil {
		t.Fatal(err)
	}
	if _, err := st.Authenticate(ctx, "alice@example.org", "battery staple"); err != nil {
		t.Errorf("new password does not authenticate: %v", err)
	}
	wantCode(t, "passwd unknown user", b.SetPassword(ctx, "bob@example.org", "x1234567890"), admin.CodeNotFound, "postern user list")
	if err := b.SetDisabled(ctx, "alice@example.org", true); err != nil {
		t.Fatal(err)
	}
	if err := b.SetQuota(ctx, "alice@example.org", 0); err != nil {
		t.Fatal(err)
	}
	us, err := b.ListUsers(ctx, "example.org")
	if err != nil || len(us) != 1 || !us[0].Disabled || us[0].QuotaBytes != 0 {
		t.Fatalf("ListUsers = %+v, %v", us, err)
	}
	if err := b.SetDisabled(ctx, "alice@example.org", false); err != nil {
		t.Fatal(err)
	}

	ap, err := b.AddAppPassword(ctx, "alice@example.org", "phone")
	if err != nil || ap.Secret == "" || ap.Name != "phone" {
		t.Fatalf("AddAppPassword = %+v, %v", ap, err)
	}
	if _, err := st.Authenticate(ctx, "alice@example.org", ap.Secret); err != nil {
		t.Errorf("app password does not authenticate: %v", err)
	}
	_, err = b.AddAppPassword(ctx, "alice@example.org", "phone")
	wantCode(t, "app password twice", err, admin.CodeExists, "revoke")
	aps, err := b.ListAppPasswords(ctx, "alice@example.org")
	if err != nil || len(aps) != 1 || aps[0].Name != "phone" {
		t.Fatalf("ListAppPasswords = %+v, %v", aps, err)
	}
	wantCode(t, "revoke unknown", b.RevokeAppPassword(ctx, "alice@example.org", "tablet"),
		admin.CodeNotFound, "postern user app-password list alice@example.org")
	if err := b.RevokeAppPassword(ctx, "alice@example.org", "phone"); err != nil {
		t.Fatal(err)
	}

	_, err = b.AddAlias(ctx, "info@other.net", []string{"alice@example.org"})
	wantCode(t, "alias in unknown domain", err, admin.CodeNotFound, "postern domain add other.net")
	if _, err := b.AddAlias(ctx, "Postmaster@example.org", []string{"alice@example.org"}); err != nil {
		t.Fatal(err)
	}
	a, err := b.AddAlias(ctx, "postmaster@example.org", []string{"root@elsewhere.net"})
	if err != nil || a.Source != "postmaster@example.org" ||
		!slices.Equal(a.Targets, []string{"alice@example.org", "root@elsewhere.net"}) {
		t.Fatalf("AddAlias = %+v, %v", a, err)
	}
	as, err := b.ListAliases(ctx, "")
	if err != nil || len(as) != 1 || len(as[0].Targets) != 2 {
		t.Fatalf("ListAliases = %+v, %v", as, err)
	}

	wantCode(t, "remove domain in use", b.RemoveDomain(ctx, "example.org"), admin.CodeInUse, "postern user list example.org")
	if err := b.RemoveAlias(ctx, "postmaster@example.org", nil); err != nil {
		t.Fatal(err)
	}
	wantCode(t, "remove alias twice", b.RemoveAlias(ctx, "postmaster@example.org", nil), admin.CodeNotFound, "postern alias list")
	if err := b.RemoveUser(ctx, "alice@example.org"); err != nil {
		t.Fatal(err)
	}
	wantCode(t, "remove user twice", b.RemoveUser(ctx, "alice@example.org"), admin.CodeNotFound, "postern user list")
	if err := b.RemoveDomain(ctx, "example.org"); err != nil {
		t.Fatal(err)
	}
	wantCode(t, "remove domain twice", b.RemoveDomain(ctx, "example.org"), admin.CodeNotFound, "postern domain list")
	ds, err := b.ListDomains(ctx)
	if err != nil || len(ds) != 0 {
		t.Errorf("ListDomains after removal = %+v, %v", ds, err)
	}
}

// TestAdminBackendBehindSocket checks that codes and hints survive the trip through the
// admin protocol to a real client.
func TestAdminBackendBehindSocket(t *testing.T) {
	t.Parallel()
	b, _ := newTestAdminBackend(t)
	path := filepath.Join(t.TempDir(), "admin.sock")
	ln, err := admin.Listen(path, admin.ResolveAccess("", nil), nil)
	if err != nil {
		t.Fatal(err)
	}
	srv := admin.NewServer(b, admin.ServerOptions{})
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Shutdown(context.Background()) })
	c, err := admin.Dial(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_, err = c.AddUser(context.Background(), admin.NewUser{Address: "a@nowhere.org", Password: "long enough pw"})
	wantCode(t, "over the socket", err, admin.CodeNotFound, "postern domain add nowhere.org")
}

func TestBindAdmin(t *testing.T) {
	t.Parallel()
	_, st := newTestAdminBackend(t)
	dir := t.TempDir()
	cfg := config.Default()
	cfg.Hostname, cfg.StateDir, cfg.RuntimeDir = "mail.example.org", dir, filepath.Join(dir, "run")
	cfg.Admin.Group = "" // the daemon's own user only
	ln, serve, shutdown, err := bindAdmin(&cfg, slog.New(slog.NewTextHandler(io.Discard, nil)),
		adminDeps{st: st, status: func() admin.Status { return admin.Status{Version: "bound"} }})
	if err != nil {
		t.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- serve(ln) }()
	c, err := admin.Dial(context.Background(), cfg.AdminSocket())
	if err != nil {
		t.Fatal(err)
	}
	s, err := c.Status(context.Background())
	c.Close()
	if err != nil || s.Version != "bound" || s.SchemaVersion != st.SchemaVersion() {
		t.Errorf("Status = %+v, %v", s, err)
	}
	if err := shutdown(context.Background()); err != nil {
		t.Errorf("shutdown: %v", err)
	}
	if err := <-served; err != nil {
		t.Errorf("serve after shutdown returned %v, want nil", err)
	}
}
