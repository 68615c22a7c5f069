package admin

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"github.com/postern/postern/trace"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"
)

// syncBuffer is a goroutine-safe log sink.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

type testServer struct {
	srv    *Server
	path   string
	logs   *syncBuffer
	served chan error
}

// startServer serves backend on a fresh socket; opts.Logger is replaced by a capture.
func startServer(t *testing.T, backend Backend, opts ServerOptions) *testServer {
	t.Helper()
	ts := &testServer{path: filepath.Join(t.TempDir(), "admin.sock"), logs: &syncBuffer{}, served: make(chan error, 1)}
	opts.Logger = slog.New(slog.NewTextHandler(ts.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	ln, err := Listen(ts.path, Access{OwnUID: uint32(os.Getuid())}, opts.Logger)
	if err != nil {
		t.Fatal(err)
	}
	ts.srv = NewServer(backend, opts)
	go func() { ts.served <- ts.srv.Serve(ln) }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := ts.srv.Shutdown(ctx); err != nil {
			t.Errorf("Shutdown: %v", err)
		}
		if err := <-ts.served; !errors.Is(err, ErrServerClosed) {
			t.Errorf("Serve returned %v, want ErrServerClosed", err)
		}
	})
	return ts
}

func dialT(t *testing.T, path string) *Client {
	t.Helper()
	c, err := Dial(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// rawExchange writes line (plus newline) on a fresh connection and returns the decoded
// answer.
func rawExchange(t *testing.T, path string, line []byte) Response {
	t.Helper()
	c, err := net.Dial("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := c.Write(append(line, '\n')); err != nil {
		t.Fatal(err)
	}
	answer, err := bufio.NewReader(c).ReadBytes('\n')
	if err != nil {
		t.Fatalf("reading answer: %v", err)
	}
	var resp Response
	if err := json.Unmarshal(answer, &resp); err != nil {
		t.Fatalf("answer %q: %v", answer, err)
	}
	return resp
}

func TestEveryCommandRoundTrip(t *testing.T) {
	t.Parallel()
	fb := &fakeBackend{}
	ts := startServer(t, fb, ServerOptions{})
	c := dialT(t, ts.path)
	ctx := context.Background()

	tests := []struct {
		name     string
		call     func() (any, error)
		wantCall string
		want     any
	}{
		{"status", func() (any, error) { return c.Status(ctx) }, "Status", Status{
			Version: "1.2.3", PID: 42, StartedAt: fakeTime, Config: "/etc/postern/postern.toml",
			StateDir: "/var/lib/postern", SchemaVersion: 3, Listeners: map[string]string{"smtp": "127.0.0.1:2525"},
		}},
		{"domain.add", func() (any, error) { return c.AddDomain(ctx, "example.org") }, "AddDomain example.org",
			Domain{Name: "example.org", CreatedAt: fakeTime}},
		{"domain.list", func() (any, error) { return c.ListDomains(ctx) }, "ListDomains",
			[]Domain{{Name: "example.org", CreatedAt: fakeTime, Users: 2, Aliases: 1}}},
		{"reindex", func() (any, error) { return c.Reindex(ctx, "a@example.org") }, "Reindex a@example.org",
			[]MailboxReindex{{Mailbox: "INBOX", Added: 1}}},
		{"backup", func() (any, error) { return c.Backup(ctx, "/srv/b") }, "Backup /srv/b",
			BackupResult{Dir: "/srv/b", Files: 1}},
		{"domain.remove", func() (any, error) { return nil, c.RemoveDomain(ctx, "example.org") }, "RemoveDomain example.org", nil},
		{"user.add", func() (any, error) {
			return c.AddUser(ctx, NewUser{Address: "a@example.org", Password: "s3cret pw", QuotaBytes: 1024})
		}, "AddUser a@example.org s3cret pw 1024",
			User{Address: "a@example.org", Domain: "example.org", QuotaBytes: 1024, CreatedAt: fakeTime}},
		{"user.list", func() (any, error) {
			us, err := c.ListUsers(ctx, "example.org")
			return len(us), err
		}, "ListUsers example.org", 2},
		{"user.remove", func() (any, error) { return nil, c.RemoveUser(ctx, "a@example.org") }, "RemoveUser a@example.org", nil},
		{"user.passwd", func() (any, error) { return nil, c.SetPassword(ctx, "a@example.org", "new") }, "SetPassword a@example.org new", nil},
		{"user.disable", func() (any, error) { return nil, c.SetDisabled(ctx, "a@example.org", true) }, "SetDisabled a@example.org true", nil},
		{"user.enable", func() (any, error) { return nil, c.SetDisabled(ctx, "a@example.org", false) }, "SetDisabled a@example.org false", nil},
		{"user.quota", func() (any, error) { return nil, c.SetQuota(ctx, "a@example.org", 0) }, "SetQuota a@example.org 0", nil},
		{"user.show", func() (any, error) { return c.GetUser(ctx, "a@example.org") }, "GetUser a@example.org",
			User{Address: "a@example.org", Domain: "example.org", QuotaBytes: 10 << 20, UsedBytes: 1 << 20, CreatedAt: fakeTime}},
		{"apppassword.add", func() (any, error) { return c.AddAppPassword(ctx, "a@example.org", "phone") }, "AddAppPassword a@example.org phone",
			NewAppPassword{AppPassword: AppPassword{Name: "phone", CreatedAt: fakeTime}, Address: "a@example.org", Secret: "abcd-efgh-ijkl-mnop"}},
		{"apppassword.list", func() (any, error) { return c.ListAppPasswords(ctx, "a@example.org") }, "ListAppPasswords a@example.org",
			[]AppPassword{{Name: "phone", CreatedAt: fakeTime, LastUsed: fakeTime}, {Name: "laptop", CreatedAt: fakeTime}}},
		{"apppassword.revoke", func() (any, error) { return nil, c.RevokeAppPassword(ctx, "a@example.org", "phone") }, "RevokeAppPassword a@example.org phone", nil},
		{"alias.add", func() (any, error) {
			return c.AddAlias(ctx, "postmaster@example.org", []string{"a@example.org", "b@x.net"})
		},
			"AddAlias postmaster@example.org [a@example.org b@x.net]",
			Alias{Source: "postmaster@example.org", Targets: []string{"a@example.org", "b@x.net"}}},
		{"alias.list", func() (any, error) { return c.ListAliases(ctx, "") }, "ListAliases ",
			[]Alias{{Source: "@example.org", Targets: []string{"alice@example.org"}}}},
		{"alias.remove", func() (any, error) { return nil, c.RemoveAlias(ctx, "postmaster@example.org", nil) }, "RemoveAlias postmaster@example.org []", nil},
		{"sieve.list", func() (any, error) { return c.ListSieveScripts(ctx, "a@example.org") }, "ListSieveScripts a@example.org",
			[]SieveScript{{Name: "main", Active: true, Size: 5, UpdatedAt: fakeTime}}},
		{"sieve.get", func() (any, error) { return c.GetSieveScript(ctx, "a@example.org", "main") }, "GetSieveScript a@example.org main",
			SieveScript{Name: "main", Size: 5, Content: "keep;"}},
		{"sieve.put", func() (any, error) { return c.PutSieveScript(ctx, "a@example.org", "main", "discard;\n") },
			`PutSieveScript a@example.org main "discard;\n"`, SieveScript{Name: "main", Size: 9}},
		{"sieve.activate", func() (any, error) { return nil, c.ActivateSieveScript(ctx, "a@example.org", "") }, `ActivateSieveScript a@example.org ""`, nil},
		{"sieve.delete", func() (any, error) { return nil, c.DeleteSieveScript(ctx, "a@example.org", "old") }, "DeleteSieveScript a@example.org old", nil},
		{"queue.list", func() (any, error) {
			l, err := c.ListQueue(ctx)
			return len(l), err
		}, "ListQueue", 1},
		{"queue.show", func() (any, error) {
			m, err := c.ShowQueue(ctx, "LX3K2A9F01AB")
			return m.Headers + m.Rcpts[0].LastError, err
		}, "ShowQueue LX3K2A9F01AB", "Subject: hi\r\ntry later"},
		{"queue.flush", func() (any, error) { return c.FlushQueue(ctx) }, "FlushQueue", 3},
		{"queue.retry", func() (any, error) { return nil, c.RetryQueued(ctx, "A1") }, "RetryQueued A1", nil},
		{"queue.hold", func() (any, error) { return nil, c.HoldQueued(ctx, "A1") }, "HoldQueued A1", nil},
		{"queue.release", func() (any, error) { return nil, c.ReleaseQueued(ctx, "A1") }, "ReleaseQueued A1", nil},
		{"queue.delete", func() (any, error) { return nil, c.DeleteQueued(ctx, "A1") }, "DeleteQueued A1", nil},
		{"relay.test", func() (any, error) {
			r, err := c.TestRelay(ctx, "x@example.net", "backup")
			return r.OK && len(r.Steps) == 1, err
		}, "TestRelay x@example.net backup", true},
		{"mailbox.status", func() (any, error) { return c.MailboxStatus(ctx, "a@example.org", "") }, "MailboxStatus a@example.org ",
			[]MailboxStatus{{Name: "INBOX", Messages: 2}}},
		{"mailbox.create", func() (any, error) { return nil, c.CreateMailbox(ctx, "a@example.org", "Lists", `\Archive`) },
			`CreateMailbox a@example.org Lists \Archive`, nil},
		{"mailbox.delete", func() (any, error) { return nil, c.DeleteMailbox(ctx, "a@example.org", "Lists") }, "DeleteMailbox a@example.org Lists", nil},
		{"mailbox.rename", func() (any, error) { return nil, c.RenameMailbox(ctx, "a@example.org", "A", "B") }, "RenameMailbox a@example.org A B", nil},
		{"mailbox.expunge", func() (any, error) { return c.ExpungeMailbox(ctx, "a@example.org", "Trash", fakeTime) },
			"ExpungeMailbox a@example.org Trash 2025-01-02T03:04:05Z", 3},
		{"who", func() (any, error) {
			s, err := c.Sessions(ctx)
			return len(s), err
		}, "Sessions", 1},
		{"kick", func() (any, error) { return c.Kick(ctx, "a@example.org") }, "Kick a@example.org", 1},
		{"doctor", func() (any, error) {
			r, err := c.Doctor(ctx)
			return r.OK && len(r.Findings) == 1, err
		}, "Doctor", true},
		{"trace", func() (any, error) {
			r, err := c.Trace(ctx, trace.Query{MessageID: "x@example.org"})
			return len(r), err
		}, "Trace x@example.org", 1},
	}
	seen := map[string]bool{}
	for _, tt := range tests {
		got, err := tt.call()
		if err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		if call := fb.lastCall(); call != tt.wantCall {
			t.Errorf("%s: backend saw %q, want %q", tt.name, call, tt.wantCall)
		}
		if tt.want != nil && !reflect.DeepEqual(got, tt.want) {
			t.Errorf("%s: got %+v, want %+v", tt.name, got, tt.want)
		}
		seen[tt.name] = true
	}
	for name := range commandTable() {
		if !seen[name] {
			t.Errorf("command %q has no round-trip test", name)
		}
	}
	if strings.Contains(ts.logs.String(), "s3cret") {
		t.Errorf("password leaked into the log:\n%s", ts.logs)
	}
}

func TestBackendErrorsKeepCodeAndHint(t *testing.T) {
	t.Parallel()
	fb := &fakeBackend{fail: NewError(CodeNotFound, "add it first: postern domain add example.org",
		errors.New(`domain "example.org" not found`))}
	ts := startServer(t, fb, ServerOptions{})
	c := dialT(t, ts.path)

	_, err := c.AddUser(context.Background(), NewUser{Address: "a@example.org", Password: "x"})
	var ae *Error
	if !errors.As(err, &ae) {
		t.Fatalf("err = %T %v, want *Error", err, err)
	}
	if ae.Code != CodeNotFound || ae.Hint != "add it first: postern domain add example.org" ||
		ae.Message != `domain "example.org" not found` {
		t.Errorf("got %+v", ae)
	}

	fb.mu.Lock()
	fb.fail = errors.New("disk on fire")
	fb.mu.Unlock()
	err = c.RemoveDomain(context.Background(), "example.org")
	if ErrorCode(err) != CodeInternal || err.Error() != "disk on fire" {
		t.Errorf("uncoded error came back as %q %v", ErrorCode(err), err)
	}
}

func TestArgumentValidation(t *testing.T) {
	t.Parallel()
	fb := &fakeBackend{}
	ts := startServer(t, fb, ServerOptions{})
	c := dialT(t, ts.path)
	ctx := context.Background()
	checks := map[string]error{
		"empty domain":     c.RemoveDomain(ctx, ""),
		"no password":      func() error { _, err := c.AddUser(ctx, NewUser{Address: "a@b.c"}); return err }(),
		"negative quota":   c.SetQuota(ctx, "a@b.c", -1),
		"alias no targets": func() error { _, err := c.AddAlias(ctx, "a@b.c", nil); return err }(),
		"app pw no name":   c.RevokeAppPassword(ctx, "a@b.c", ""),
		"sieve no name":    func() error { _, err := c.PutSieveScript(ctx, "a@b.c", "", "keep;"); return err }(),
	}
	for name, err := range checks {
		if ErrorCode(err) != CodeInvalid {
			t.Errorf("%s: got %v (%s), want code invalid", name, err, ErrorCode(err))
		}
	}
	if call := fb.lastCall(); call != "" {
		t.Errorf("backend was called (%q) for invalid arguments", call)
	}

	resp := rawExchange(t, ts.path, []byte(`{"v":1,"cmd":"domain.add","args":{"name":"x.org","bogus":1}}`))
	if resp.OK || resp.Error.Code != CodeBadRequest {
		t.Errorf("unknown argument field: %+v", resp)
	}
}

func TestProtocolErrors(t *testing.T) {
	t.Parallel()
	ts := startServer(t, &fakeBackend{}, ServerOptions{})
	tests := []struct {
		line, code string
	}{
		{`{"v":2,"cmd":"status"}`, CodeUnsupportedVersion},
		{`{"cmd":"status"}`, CodeUnsupportedVersion},
		{`{"v":1,"cmd":"frobnicate"}`, CodeUnknownCommand},
		{`{"v":1}`, CodeBadRequest},
		{`not json`, CodeBadRequest},
		{`{"v":1,"cmd":"status"} {}`, CodeBadRequest},
	}
	for _, tt := range tests {
		resp := rawExchange(t, ts.path, []byte(tt.line))
		if resp.OK || resp.Error == nil || resp.Error.Code != tt.code {
			t.Errorf("%s: got %+v, want code %s", tt.line, resp, tt.code)
			continue
		}
		if resp.V != ProtocolVersion {
			t.Errorf("%s: answered in version %d", tt.line, resp.V)
		}
	}
	resp := rawExchange(t, ts.path, []byte(`{"v":2,"cmd":"status"}`))
	if !strings.Contains(resp.Error.Message, "version 1") || !strings.Contains(resp.Error.Message, "version 2") ||
		resp.Error.Hint == "" {
		t.Errorf("version error is not clear: %+v", resp.Error)
	}
}

func TestClientRefusesOtherVersionAnswer(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "v2.sock")
	ln, err := net.Listen("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		bufio.NewReader(c).ReadBytes('\n')
		c.Write([]byte(`{"v":2,"ok":true,"result":{"version":"9"}}` + "\n"))
	}()
	c := dialT(t, path)
	_, err = c.Status(context.Background())
	if ErrorCode(err) != CodeUnsupportedVersion {
		t.Fatalf("got %v, want unsupported_version", err)
	}
}

func TestPermissionRefused(t *testing.T) {
	t.Parallel()
	fb := &fakeBackend{}
	deny := AuthorizerFunc(func(PeerCred) error {
		return Errorf(CodePermissionDenied, "ask root", "permission denied")
	})
	ts := startServer(t, fb, ServerOptions{Authorizer: deny})
	c := dialT(t, ts.path)
	_, err := c.ListDomains(context.Background())
	if ErrorCode(err) != CodePermissionDenied || err.Error() != "permission denied" || ErrorHint(err) != "ask root" {
		t.Fatalf("got %v (%s)", err, ErrorCode(err))
	}
	if call := fb.lastCall(); call != "" {
		t.Errorf("backend called for a refused peer: %q", call)
	}
	if logs := ts.logs.String(); !strings.Contains(logs, "admin connection refused") ||
		!strings.Contains(logs, "uid=") {
		t.Errorf("refusal not logged:\n%s", logs)
	}

	// An authorizer returning a plain error still yields permission_denied.
	ts2 := startServer(t, fb, ServerOptions{Authorizer: AuthorizerFunc(func(PeerCred) error {
		return errors.New("nope")
	})})
	_, err = dialT(t, ts2.path).Status(context.Background())
	if ErrorCode(err) != CodePermissionDenied {
		t.Errorf("plain authorizer error came back as %v (%s)", err, ErrorCode(err))
	}
}

func TestAuthorizerSeesRealPeerCredentials(t *testing.T) {
	t.Parallel()
	got := make(chan PeerCred, 1)
	ts := startServer(t, &fakeBackend{}, ServerOptions{Authorizer: AuthorizerFunc(func(c PeerCred) error {
		got <- c
		return nil
	})})
	if _, err := dialT(t, ts.path).Status(context.Background()); err != nil {
		t.Fatal(err)
	}
	c := <-got
	if c.UID != uint32(os.Getuid()) || c.GID != uint32(os.Getgid()) || c.PID != int32(os.Getpid()) {
		t.Errorf("peer cred %+v, want uid %d gid %d pid %d", c, os.Getuid(), os.Getgid(), os.Getpid())
	}
}

func TestHandlerPanicDoesNotKillServer(t *testing.T) {
	t.Parallel()
	fb := &fakeBackend{hook: func(_ context.Context, call string) {
		if call == "ListDomains" {
			panic("boom")
		}
	}}
	ts := startServer(t, fb, ServerOptions{})
	c := dialT(t, ts.path)
	_, err := c.ListDomains(context.Background())
	if ErrorCode(err) != CodeInternal {
		t.Fatalf("panic answered with %v", err)
	}
	if _, err := c.Status(context.Background()); err != nil {
		t.Errorf("same connection after panic: %v", err)
	}
	if _, err := dialT(t, ts.path).Status(context.Background()); err != nil {
		t.Errorf("new connection after panic: %v", err)
	}
	if !strings.Contains(ts.logs.String(), "boom") {
		t.Errorf("panic not logged")
	}
}

func TestOversizeRequestRefused(t *testing.T) {
	t.Parallel()
	fb := &fakeBackend{}
	ts := startServer(t, fb, ServerOptions{})
	big := []byte(`{"v":1,"cmd":"domain.add","args":{"name":"` + strings.Repeat("a", MaxRequestSize) + `"}}`)
	c, err := net.Dial("unix", ts.path)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	// The server answers and closes before reading everything, so the write may fail.
	go c.Write(append(big, '\n'))
	r := bufio.NewReader(c)
	line, err := r.ReadBytes('\n')
	if err != nil {
		t.Fatal(err)
	}
	var resp Response
	if err := json.Unmarshal(line, &resp); err != nil {
		t.Fatal(err)
	}
	if resp.OK || resp.Error.Code != CodeTooLarge {
		t.Errorf("got %+v", resp)
	}
	if _, err := r.ReadBytes('\n'); err == nil {
		t.Errorf("connection still open after an oversize request")
	}
	if call := fb.lastCall(); call != "" {
		t.Errorf("backend called: %q", call)
	}
	// A request just under the limit is fine.
	okLine := []byte(`{"v":1,"cmd":"domain.add","args":{"name":"` + strings.Repeat("a", MaxRequestSize-100) + `"}}`)
	if resp := rawExchange(t, ts.path, okLine); !resp.OK {
		t.Errorf("request under the limit refused: %+v", resp.Error)
	}
}

func TestShutdownWaitsForInFlightRequest(t *testing.T) {
	t.Parallel()
	entered, release := make(chan struct{}), make(chan struct{})
	fb := &fakeBackend{hook: func(_ context.Context, call string) {
		if call == "RemoveDomain slow.org" {
			close(entered)
			<-release
		}
	}}
	path := filepath.Join(t.TempDir(), "a.sock")
	ln, err := Listen(path, Access{OwnUID: uint32(os.Getuid())}, nil)
	if err != nil {
		t.Fatal(err)
	}
	srv := NewServer(fb, ServerOptions{})
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()

	idle := dialT(t, path) // an idle connection must not hold up shutdown
	if _, err := idle.Status(context.Background()); err != nil {
		t.Fatal(err)
	}
	busy := dialT(t, path)
	result := make(chan error, 1)
	go func() { result <- busy.RemoveDomain(context.Background(), "slow.org") }()
	<-entered

	shut := make(chan error, 1)
	go func() { shut <- srv.Shutdown(context.Background()) }()
	if err := <-served; !errors.Is(err, ErrServerClosed) {
		t.Errorf("Serve: %v", err)
	}
	select {
	case err := <-shut:
		t.Fatalf("Shutdown returned %v while a request was in flight", err)
	default:
	}
	close(release)
	if err := <-result; err != nil {
		t.Errorf("in-flight request failed: %v", err)
	}
	if err := <-shut; err != nil {
		t.Errorf("Shutdown: %v", err)
	}
	if _, err := Dial(context.Background(), path); ErrorCode(err) != CodeNotRunning {
		t.Errorf("dial after shutdown: %v", err)
	}
}

func TestShutdownDeadlineCancelsHandlers(t *testing.T) {
	t.Parallel()
	entered := make(chan struct{})
	fb := &fakeBackend{hook: func(ctx context.Context, call string) {
		close(entered)
		<-ctx.Done()
	}}
	ts := &testServer{path: filepath.Join(t.TempDir(), "a.sock")}
	ln, err := Listen(ts.path, Access{OwnUID: uint32(os.Getuid())}, nil)
	if err != nil {
		t.Fatal(err)
	}
	srv := NewServer(fb, ServerOptions{})
	go srv.Serve(ln)
	c := dialT(t, ts.path)
	result := make(chan error, 1)
	go func() { result <- c.RemoveDomain(context.Background(), "x.org") }()
	<-entered
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := srv.Shutdown(ctx); !errors.Is(err, context.Canceled) {
		t.Errorf("Shutdown = %v, want context.Canceled", err)
	}
	if err := <-result; err == nil {
		t.Errorf("request survived a forced shutdown")
	}
}

func TestDialNotRunning(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	// No file at all.
	_, err := Dial(context.Background(), filepath.Join(dir, "missing.sock"))
	if ErrorCode(err) != CodeNotRunning || !strings.Contains(ErrorHint(err), "postern serve --config FILE") ||
		!strings.Contains(ErrorHint(err), "systemctl start postern") || !strings.Contains(err.Error(), "not running") {
		t.Errorf("missing socket: %v / hint %q", err, ErrorHint(err))
	}
	// A stale socket file left by a crashed daemon: connection refused.
	stale := filepath.Join(dir, "stale.sock")
	ln, err := net.Listen("unix", stale)
	if err != nil {
		t.Fatal(err)
	}
	ln.(*net.UnixListener).SetUnlinkOnClose(false)
	ln.Close()
	if _, err := Dial(context.Background(), stale); ErrorCode(err) != CodeNotRunning {
		t.Errorf("stale socket: %v", err)
	}
}

func TestClientHonoursContext(t *testing.T) {
	t.Parallel()
	entered := make(chan struct{})
	release := make(chan struct{})
	fb := &fakeBackend{hook: func(context.Context, string) {
		close(entered)
		<-release
	}}
	ts := startServer(t, fb, ServerOptions{})
	defer close(release)
	c := dialT(t, ts.path)
	ctx, cancel := context.WithCancel(context.Background())
	result := make(chan error, 1)
	go func() { _, err := c.Status(ctx); result <- err }()
	<-entered
	cancel()
	if err := <-result; !errors.Is(err, context.Canceled) {
		t.Errorf("got %v, want context.Canceled", err)
	}
}
