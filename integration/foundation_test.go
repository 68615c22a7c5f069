package integration

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestCLITour is the README's CLI tour against a running daemon, then a restart: the
// domains, users and aliases are still there.
func TestCLITour(t *testing.T) {
	t.Parallel()
	s := NewServer(t, Options{})

	s.MustCLI("domain", "add", "example.test")
	if r := s.CLI("s3cret-Passw0rd\n", "user", "add", "alice@example.test", "--password-stdin"); r.Code != 0 {
		t.Fatalf("user add: %d %s %s", r.Code, r.Stdout, r.Stderr)
	}
	s.MustCLI("alias", "add", "postmaster@example.test", "alice@example.test")

	checkUsers := func() {
		t.Helper()
		var users []struct {
			Address string `json:"address"`
		}
		out := s.MustCLI("user", "list", "--json")
		if err := json.Unmarshal([]byte(out), &users); err != nil {
			t.Fatalf("user list --json: %v\n%s", err, out)
		}
		if len(users) != 1 || users[0].Address != "alice@example.test" {
			t.Fatalf("user list --json = %s", out)
		}
		if out := s.MustCLI("alias", "list"); !strings.Contains(out, "postmaster@example.test") || !strings.Contains(out, "alice@example.test") {
			t.Fatalf("alias list = %q", out)
		}
		if out := s.MustCLI("domain", "list"); !strings.Contains(out, "example.test") {
			t.Fatalf("domain list = %q", out)
		}
	}
	checkUsers()

	// The listeners in status are the ones actually bound.
	for _, name := range []string{"smtp", "imaps"} {
		if a := s.Addrs[name]; a != "" && strings.HasSuffix(a, ":0") {
			t.Errorf("status reports %s at %q: the bound port, not 0, is wanted", name, a)
		}
	}
	if _, ok := s.Addrs["admin"]; !ok {
		t.Errorf("status listeners lack the admin socket: %v", s.Addrs)
	}

	s.Restart()
	checkUsers()

	// A second add of the same user is refused with a one-line error and a non-zero exit.
	r := s.CLI("x\n", "user", "add", "alice@example.test", "--password-stdin")
	if r.Code == 0 || !strings.Contains(r.Stderr, "postern:") {
		t.Fatalf("duplicate user add: code %d stderr %q", r.Code, r.Stderr)
	}
	// An unknown domain gets a hint that says what to do.
	r = s.CLI("x\n", "user", "add", "bob@nowhere.test", "--password-stdin")
	if r.Code == 0 || !strings.Contains(r.Stderr, "domain add") {
		t.Fatalf("user add on unknown domain: code %d stderr %q", r.Code, r.Stderr)
	}
}

// TestStatusJSON checks the documented shape of `postern status --json`.
func TestStatusJSON(t *testing.T) {
	t.Parallel()
	s := NewServer(t, Options{})
	var st map[string]any
	if err := json.Unmarshal([]byte(s.MustCLI("status", "--json")), &st); err != nil {
		t.Fatal(err)
	}
	if st["version"] != "itest" {
		t.Errorf("version = %v, want the stamped itest", st["version"])
	}
	if pid, _ := st["pid"].(float64); int(pid) != s.cmd.Process.Pid {
		t.Errorf("pid = %v, want %d", st["pid"], s.cmd.Process.Pid)
	}
	if _, ok := st["listeners"].(map[string]any); !ok {
		t.Errorf("listeners missing: %v", st)
	}
}

// TestSIGTERM: the daemon stops within 5 seconds with exit code 0.
func TestSIGTERM(t *testing.T) {
	t.Parallel()
	s := NewServer(t, Options{})
	took, err := s.Signal(syscall.SIGTERM, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.ExitErr(); err != nil {
		t.Fatalf("exit after SIGTERM: %v (want status 0)", err)
	}
	t.Logf("stopped in %v", took)
}

// TestSecondServerRefused: two daemons on one state dir would corrupt it; the second is
// refused with a message that names the running one.
func TestSecondServerRefused(t *testing.T) {
	t.Parallel()
	s := NewServer(t, Options{})
	r := runCLI(t, s.Config, "", nil, "serve")
	if r.Code == 0 {
		t.Fatal("a second postern serve on the same state dir started")
	}
	if !strings.Contains(r.Stderr, "already running") {
		t.Fatalf("second serve: %q", r.Stderr)
	}
	if !s.Running() {
		t.Fatal("the first server died")
	}
}

// TestConfigRefused: typos, wrong types and a missing hostname are refused with the file,
// the line and the reason, by `config check` and by `serve` (which exits 78, EX_CONFIG).
func TestConfigRefused(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name, body, want string
	}{
		{"typo", "hostname = \"mail.example.test\"\n[smtp]\nmesage_size_limit = 10\n", ":3:"},
		{"type", "hostname = \"mail.example.test\"\n[smtp]\nmessage_size_limit = \"big\"\n", ":3:"},
		{"hostname", "state_dir = \"/tmp/x\"\n", "hostname"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			path := filepath.Join(dir, "postern.toml")
			if err := os.WriteFile(path, []byte(c.body), 0o644); err != nil {
				t.Fatal(err)
			}
			for _, args := range [][]string{{"config", "check"}, {"serve"}} {
				r := runCLI(t, path, "", nil, args...)
				if r.Code == 0 {
					t.Fatalf("%v accepted a bad config", args)
				}
				if !strings.Contains(r.Stderr, path) || !strings.Contains(r.Stderr, c.want) {
					t.Fatalf("%v: stderr %q lacks the file and %q", args, r.Stderr, c.want)
				}
				// serve: EX_CONFIG, which the unit does not restart (RestartPreventExitStatus=78).
				if args[0] == "serve" && r.Code != 78 {
					t.Errorf("serve with a bad config: exit %d, want 78 (EX_CONFIG)", r.Code)
				}
			}
		})
	}
}

// TestConfigDefault: the printed default config passes `config check`.
func TestConfigDefault(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	path := filepath.Join(dir, "postern.toml")
	out := runCLI(t, path, "", nil, "config", "default", "--hostname", "mail.example.org")
	if out.Code != 0 {
		t.Fatalf("config default: %d %s", out.Code, out.Stderr)
	}
	if err := os.WriteFile(path, []byte(out.Stdout), 0o644); err != nil {
		t.Fatal(err)
	}
	if r := runCLI(t, path, "", nil, "config", "check"); r.Code != 0 {
		t.Fatalf("config check of the default: %d %s %s", r.Code, r.Stdout, r.Stderr)
	}
}

// TestAdminSocketRefusesOthers: a local user who is neither root, the service user nor in
// the admin group cannot drive the daemon.
func TestAdminSocketRefusesOthers(t *testing.T) {
	t.Parallel()
	attr, _ := asNobody(t)
	s := NewServer(t, Options{})
	// nobody must be able to read a copy of the config to find the socket, so that what
	// refuses it is the socket, not the file system around the config.
	pub, err := os.MkdirTemp("", "ptcfg")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(pub) })
	data, err := os.ReadFile(s.Config)
	if err != nil {
		t.Fatal(err)
	}
	cfg := filepath.Join(pub, "postern.toml")
	if err := os.Chmod(pub, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(cfg, data, 0o644); err != nil {
		t.Fatal(err)
	}
	r := runCLI(t, cfg, "", attr, "domain", "add", "evil.test")
	if r.Code == 0 {
		t.Fatalf("nobody could add a domain: %s", r.Stdout)
	}
	if !strings.Contains(strings.ToLower(r.Stderr), "permission denied") {
		t.Fatalf("refusal should say permission denied: %q", r.Stderr)
	}
	if out := s.MustCLI("domain", "list"); strings.Contains(out, "evil.test") {
		t.Fatal("the domain was added")
	}
}

// TestDaemonNotRunning: the CLI says the daemon is not running and how to start it.
func TestDaemonNotRunning(t *testing.T) {
	t.Parallel()
	s := NewServer(t, Options{NoStart: true})
	r := s.CLI("", "domain", "list")
	if r.Code == 0 || !strings.Contains(r.Stderr, "not running") || !strings.Contains(r.Stderr, "postern serve") {
		t.Fatalf("CLI without daemon: code %d stderr %q", r.Code, r.Stderr)
	}
}
