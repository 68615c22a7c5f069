package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/postern/postern/admin"
	"github.com/postern/postern/server/config"
)

type daemon struct {
	cfgPath string
	be      *memBackend
}

// writeConfig writes a minimal valid config whose runtime dir is under dir.
func writeConfig(t *testing.T, dir string) string {
	t.Helper()
	path := filepath.Join(dir, "postern.toml")
	body := "hostname = \"mail.example.com\"\nstate_dir = \"state\"\nruntime_dir = \"run\"\n"
	if err := os.WriteFile(path, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// startDaemon serves a memBackend on the admin socket named by a fresh config file.
func startDaemon(t *testing.T) *daemon {
	t.Helper()
	d := &daemon{cfgPath: writeConfig(t, t.TempDir()), be: newMemBackend()}
	cfg, err := config.Load(d.cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := admin.Listen(cfg.AdminSocket(), admin.ResolveAccess("", nil), nil)
	if err != nil {
		t.Fatal(err)
	}
	srv := admin.NewServer(d.be, admin.ServerOptions{})
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Shutdown(context.Background()) })
	return d
}

type result struct {
	stdout, stderr string
	code           int
}

// runCLI runs the program in-process with an empty environment.
func runCLI(t *testing.T, stdin string, env map[string]string, args ...string) result {
	t.Helper()
	var out, errb bytes.Buffer
	code := run(append([]string{"/usr/bin/postern"}, args...), strings.NewReader(stdin), &out, &errb,
		func(k string) string { return env[k] })
	return result{out.String(), errb.String(), code}
}

// cli runs a command against the daemon, --config given after the subcommand.
func (d *daemon) cli(t *testing.T, stdin string, args ...string) result {
	t.Helper()
	return runCLI(t, stdin, nil, append(args, "--config", d.cfgPath)...)
}

// ok runs a command that must succeed and returns its stdout.
func (d *daemon) ok(t *testing.T, stdin string, args ...string) string {
	t.Helper()
	r := d.cli(t, stdin, args...)
	if r.code != 0 || r.stderr != "" {
		t.Fatalf("postern %s: exit %d\nstdout: %s\nstderr: %s", strings.Join(args, " "), r.code, r.stdout, r.stderr)
	}
	return r.stdout
}

// wantFail checks exit code and that stderr is exactly "postern: MSG" plus an optional
// "hint: ..." line containing hint.
func wantFail(t *testing.T, r result, code int, msgPart, hintPart string) {
	t.Helper()
	if r.code != code {
		t.Errorf("exit %d, want %d (stderr %q)", r.code, code, r.stderr)
	}
	lines := strings.Split(strings.TrimSuffix(r.stderr, "\n"), "\n")
	if !strings.HasPrefix(lines[0], "postern: ") || !strings.Contains(lines[0], msgPart) {
		t.Errorf("first stderr line %q, want postern: ...%s...", lines[0], msgPart)
	}
	if hintPart != "" && (len(lines) < 2 || !strings.HasPrefix(lines[1], "hint: ") || !strings.Contains(lines[1], hintPart)) {
		t.Errorf("stderr %q lacks hint containing %q", r.stderr, hintPart)
	}
}

// columnsAligned checks that every line of a table starts its columns where the header
// does (two-space separated, as tabwriter writes them).
func columnsAligned(t *testing.T, table string) {
	t.Helper()
	lines := strings.Split(strings.TrimSuffix(table, "\n"), "\n")
	starts := regexp.MustCompile(`  +\S`).FindAllStringIndex(lines[0], -1)
	if len(starts) == 0 || len(lines) < 2 {
		t.Fatalf("not a table: %q", table)
	}
	for _, l := range lines[1:] {
		for _, s := range starts {
			col := s[1] - 1
			if col >= len(l) || l[col] == ' ' || l[col-1] != ' ' {
				t.Errorf("line %q not aligned with header %q at column %d", l, lines[0], col)
			}
		}
	}
}

func TestDomainCommands(t *testing.T) {
	t.Parallel()
	d := startDaemon(t)
	if out := d.ok(t, "", "domain", "list"); out != "no domains yet\n" {
		t.Errorf("empty list: %q", out)
	}
	if out := d.ok(t, "", "domain", "add", "example.org"); out != "added domain example.org\n" {
		t.Errorf("add: %q", out)
	}
	d.ok(t, "", "domain", "add", "a-much-longer-domain.example")
	out := d.ok(t, "", "domain", "list")
	if !strings.HasPrefix(out, "DOMAIN") || !strings.Contains(out, "example.org") {
		t.Errorf("table: %q", out)
	}
	columnsAligned(t, out)

	var ds []admin.Domain
	if err := json.Unmarshal([]byte(d.ok(t, "", "domain", "list", "--json")), &ds); err != nil || len(ds) != 2 {
		t.Errorf("--json: %v %+v", err, ds)
	}
	wantFail(t, d.cli(t, "", "domain", "add", "example.org"), exitRefused, "already exists", "")
	wantFail(t, d.cli(t, "", "domain", "remove", "nope.org"), exitNotFound, "nope.org", "postern domain list")
	d.ok(t, "", "domain", "remove", "example.org")
}

func TestUserCommands(t *testing.T) {
	t.Parallel()
	d := startDaemon(t)

	r := d.cli(t, "pw\n", "user", "add", "alice@example.org", "--password-stdin")
	wantFail(t, r, exitNotFound, "not local", "add it first: postern domain add example.org")

	d.ok(t, "", "domain", "add", "example.org")
	out := d.ok(t, "s3cret pass\nignored\n", "user", "add", "--quota", "2G", "alice@example.org", "--password-stdin")
	if out != "added user alice@example.org (quota 2G)\n" {
		t.Errorf("add: %q", out)
	}
	if pw := d.be.password("alice@example.org"); pw != "s3cret pass" {
		t.Errorf("password %q, want the first line of stdin", pw)
	}
	d.ok(t, "other pw\r\n", "user", "add", "bob@example.org", "--password-stdin")

	// Without --password-stdin and without a terminal there is nobody to ask.
	r = d.cli(t, "", "user", "passwd", "alice@example.org")
	wantFail(t, r, 1, "not a terminal", "--password-stdin")
	wantFail(t, d.cli(t, "", "user", "passwd", "alice@example.org", "--password-stdin"), 1, "no password", "")
	d.ok(t, "new one\n", "user", "passwd", "alice@example.org", "--password-stdin")
	if pw := d.be.password("alice@example.org"); pw != "new one" {
		t.Errorf("passwd stored %q", pw)
	}

	d.ok(t, "", "user", "disable", "bob@example.org")
	if out := d.ok(t, "", "user", "quota", "bob@example.org", "1.5G"); out != "quota of bob@example.org is now 1.5G\n" {
		t.Errorf("quota: %q", out)
	}
	d.be.withUser("bob@example.org", func(u *admin.User) { u.UsedBytes = 3 << 29 }) //nolint:errcheck // bob exists
	if out := d.ok(t, "", "user", "quota", "bob@example.org"); out != "bob@example.org uses 1.5G of 1.5G (100%)\n" {
		t.Errorf("quota without a size: %q", out)
	}
	if out := d.ok(t, "", "user", "quota", "alice@example.org"); out != "alice@example.org uses 0B of 2G (0%)\n" {
		t.Errorf("quota without a size: %q", out)
	}
	wantFail(t, d.cli(t, "", "user", "quota", "carol@example.org"), exitNotFound, "carol@example.org", "postern user list")
	out = d.ok(t, "", "user", "list")
	columnsAligned(t, out)
	if !regexp.MustCompile(`(?m)^bob@example.org +1.5G +1.5G +yes +0 +2025-03-0[45]$`).MatchString(out) {
		t.Errorf("user table:\n%s", out)
	}
	var us []admin.User
	if err := json.Unmarshal([]byte(d.ok(t, "", "user", "list", "example.org", "--json")), &us); err != nil ||
		len(us) != 2 || us[0].Address != "alice@example.org" || us[0].QuotaBytes != 2<<30 || !us[1].Disabled {
		t.Errorf("--json: %v %+v", err, us)
	}
	d.ok(t, "", "user", "enable", "bob@example.org")
	wantFail(t, d.cli(t, "", "user", "remove", "carol@example.org"), exitNotFound, "carol@example.org", "postern user list")
	if out := d.ok(t, "", "user", "remove", "bob@example.org"); out != "removed user bob@example.org\n" {
		t.Errorf("remove: %q", out)
	}

	wantFail(t, d.cli(t, "", "user", "quota", "alice@example.org", "lots"), exitUsage, "invalid size", "")
}

func TestAppPasswordCommands(t *testing.T) {
	t.Parallel()
	d := startDaemon(t)
	d.ok(t, "", "domain", "add", "example.org")
	d.ok(t, "pw\n", "user", "add", "alice@example.org", "--password-stdin")

	out := d.ok(t, "", "user", "app-password", "add", "alice@example.org", "phone")
	if !strings.Contains(out, "wxyz-2345-abcd-6789") || !strings.Contains(out, "only this once") {
		t.Errorf("add: %q", out)
	}
	var ap admin.NewAppPassword
	if err := json.Unmarshal([]byte(d.ok(t, "", "user", "app-password", "add", "alice@example.org", "laptop", "--json")), &ap); err != nil ||
		ap.Secret != "wxyz-2345-abcd-6789" || ap.Name != "laptop" {
		t.Errorf("add --json: %v %+v", err, ap)
	}
	out = d.ok(t, "", "user", "app-password", "list", "alice@example.org")
	columnsAligned(t, out)
	if strings.Contains(out, "wxyz") || !strings.Contains(out, "phone") || !strings.Contains(out, "laptop") {
		t.Errorf("list: %q", out)
	}
	d.ok(t, "", "user", "app-password", "revoke", "alice@example.org", "phone")
	var aps []admin.AppPassword
	if err := json.Unmarshal([]byte(d.ok(t, "", "user", "app-password", "list", "alice@example.org", "--json")), &aps); err != nil ||
		len(aps) != 1 || aps[0].Name != "laptop" {
		t.Errorf("list --json: %v %+v", err, aps)
	}
}

func TestAliasCommands(t *testing.T) {
	t.Parallel()
	d := startDaemon(t)
	if out := d.ok(t, "", "alias", "add", "postmaster@example.org", "alice@example.org", "root@elsewhere.net"); out !=
		"postmaster@example.org -> alice@example.org, root@elsewhere.net\n" {
		t.Errorf("add: %q", out)
	}
	d.ok(t, "", "alias", "add", "@example.org", "alice@example.org")
	out := d.ok(t, "", "alias", "list", "example.org")
	columnsAligned(t, out)
	d.ok(t, "", "alias", "remove", "postmaster@example.org", "root@elsewhere.net")
	var as []admin.Alias
	if err := json.Unmarshal([]byte(d.ok(t, "", "alias", "list", "--json")), &as); err != nil || len(as) != 2 ||
		as[1].Source != "postmaster@example.org" || len(as[1].Targets) != 1 {
		t.Errorf("--json: %v %+v", err, as)
	}
	if out := d.ok(t, "", "alias", "remove", "@example.org"); out != "removed alias @example.org\n" {
		t.Errorf("remove: %q", out)
	}
	wantFail(t, d.cli(t, "", "alias", "add", "lonely@example.org"), exitUsage, "missing arguments", "")
	wantFail(t, d.cli(t, "", "alias", "remove", "ghost@example.org"), exitNotFound, "not found", "postern alias list")
}

func TestStatus(t *testing.T) {
	t.Parallel()
	d := startDaemon(t)
	var st admin.Status
	if err := json.Unmarshal([]byte(d.ok(t, "", "status", "--json")), &st); err != nil ||
		st.Listeners["smtp"] != "127.0.0.1:2525" || st.PID != 4242 {
		t.Errorf("--json: %v %+v", err, st)
	}
	out := d.ok(t, "", "status")
	for _, want := range []string{"version         9.9.9", "listen imap     127.0.0.1:1143", "listen smtp     127.0.0.1:2525"} {
		if !strings.Contains(out, want) {
			t.Errorf("status lacks %q:\n%s", want, out)
		}
	}
}

func TestConfigLookup(t *testing.T) {
	t.Parallel()
	d := startDaemon(t)
	// $POSTERN_CONFIG, then --config before the subcommand.
	if r := runCLI(t, "", map[string]string{"POSTERN_CONFIG": d.cfgPath}, "status", "--json"); r.code != 0 {
		t.Errorf("POSTERN_CONFIG: %+v", r)
	}
	if r := runCLI(t, "", map[string]string{"POSTERN_CONFIG": "/nonexistent"}, "--config="+d.cfgPath, "domain", "list"); r.code != 0 {
		t.Errorf("--config= before the command wins over the environment: %+v", r)
	}
	// Without either, the default path is used (and, on a test machine, missing).
	if _, err := os.Stat(defaultConfigPath); err == nil {
		t.Skipf("%s exists on this machine", defaultConfigPath)
	}
	r := runCLI(t, "", nil, "domain", "list")
	wantFail(t, r, exitConfig, "/etc/postern/postern.toml", "postern config default")
}

func TestDaemonNotRunning(t *testing.T) {
	t.Parallel()
	cfg := writeConfig(t, t.TempDir())
	r := runCLI(t, "", nil, "user", "list", "--config", cfg)
	wantFail(t, r, exitUnavailable, "not running", "postern serve --config "+cfg)
	if !strings.Contains(r.stderr, "systemctl start postern") {
		t.Errorf("no systemctl hint: %q", r.stderr)
	}
}

func TestUsageErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		args []string
		msg  string
	}{
		{[]string{"frobnicate"}, `unknown command "frobnicate"`},
		{[]string{"user", "frob"}, `unknown command "user frob"`},
		{[]string{"user"}, `"postern user" needs a subcommand`},
		{[]string{}, "missing command"},
		{[]string{"domain", "add"}, "missing arguments"},
		{[]string{"domain", "add", "a.org", "b.org"}, "too many arguments"},
		{[]string{"domain", "list", "--bogus"}, "unknown flag --bogus"},
		{[]string{"user", "add", "a@b.org", "--quota"}, "--quota needs a SIZE"},
		{[]string{"status", "--json=yes"}, "--json takes no value"},
		{[]string{"status", "--config"}, "--config needs a FILE"},
		{[]string{"help", "nope"}, `unknown command "nope"`},
	}
	for _, tt := range tests {
		r := runCLI(t, "", nil, tt.args...)
		if r.code != exitUsage || !strings.HasPrefix(r.stderr, "postern: "+tt.msg+"\nusage: postern") || r.stdout != "" {
			t.Errorf("%v: exit %d, stderr %q", tt.args, r.code, r.stderr)
		}
	}
}

func TestHelp(t *testing.T) {
	t.Parallel()
	h1 := runCLI(t, "", nil, "help", "user", "add")
	h2 := runCLI(t, "", nil, "user", "add", "-h")
	h3 := runCLI(t, "", nil, "user", "add", "alice@example.org", "--help")
	if h1.code != 0 || h1.stdout != h2.stdout || h2.stdout != h3.stdout || h2.code != 0 {
		t.Errorf("help differs:\n%s\n---\n%s\n---\n%s", h1.stdout, h2.stdout, h3.stdout)
	}
	for _, want := range []string{"usage: postern user add ADDRESS [--password-stdin] [--quota SIZE]",
		"--password-stdin", "--config FILE"} {
		if !strings.Contains(h1.stdout, want) {
			t.Errorf("help lacks %q:\n%s", want, h1.stdout)
		}
	}
	top := runCLI(t, "", nil, "--help")
	for _, s := range rootCommand().subs {
		if !strings.Contains(top.stdout, "\n  "+s.name+" ") {
			t.Errorf("top-level help lacks %q:\n%s", s.name, top.stdout)
		}
	}
	if g := runCLI(t, "", nil, "help", "user", "app-password"); !strings.Contains(g.stdout, "revoke") {
		t.Errorf("group help: %q", g.stdout)
	}
}

func TestEveryCommandHasHelpAndSummary(t *testing.T) {
	t.Parallel()
	walk(rootCommand(), nil, func(cmd *command, path []string) {
		if cmd.summary == "" {
			t.Errorf("%v has no summary", path)
		}
		if (cmd.run == nil) == (len(cmd.subs) == 0) {
			t.Errorf("%v must be either a leaf with run or a group with subs", path)
		}
		r := runCLI(t, "", nil, append(path, "--help")...)
		if r.code != 0 || !strings.HasPrefix(r.stdout, "usage: postern") {
			t.Errorf("%v --help: %+v", path, r)
		}
	})
}

func TestVersion(t *testing.T) {
	t.Parallel()
	r := runCLI(t, "", nil, "version")
	if r.code != 0 || !strings.HasPrefix(r.stdout, "postern ") {
		t.Errorf("version: %+v", r)
	}
	var v map[string]string
	r = runCLI(t, "", nil, "version", "--json")
	if err := json.Unmarshal([]byte(r.stdout), &v); err != nil || v["version"] == "" || v["go"] == "" {
		t.Errorf("version --json: %v %q", err, r.stdout)
	}
}

func TestConfigDefaultAndCheck(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	r := runCLI(t, "", nil, "config", "default", "--hostname", "mail.example.net")
	if r.code != 0 || !strings.Contains(r.stdout, `"mail.example.net"`) {
		t.Fatalf("config default: %+v", r)
	}
	good := filepath.Join(dir, "good.toml")
	if err := os.WriteFile(good, []byte(r.stdout), 0o644); err != nil {
		t.Fatal(err)
	}
	if r := runCLI(t, "", nil, "config", "check", good); r.code != 0 || r.stdout != good+": ok\n" {
		t.Errorf("check good: %+v", r)
	}
	if r := runCLI(t, "", map[string]string{"POSTERN_CONFIG": good}, "config", "check"); r.code != 0 {
		t.Errorf("check via POSTERN_CONFIG: %+v", r)
	}

	bad := filepath.Join(dir, "bad.toml")
	if err := os.WriteFile(bad, []byte("hostname = \"\"\nbogus_key = 1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	r = runCLI(t, "", nil, "config", "check", bad)
	lines := strings.Split(strings.TrimSpace(r.stderr), "\n")
	if r.code != 1 || len(lines) < 2 || r.stdout != "" {
		t.Errorf("check bad: exit %d, %d lines:\n%s", r.code, len(lines), r.stderr)
	}
	for _, l := range lines {
		if !strings.HasPrefix(l, bad) {
			t.Errorf("problem line %q does not name the file", l)
		}
	}
	wantFail(t, runCLI(t, "", nil, "config", "check", filepath.Join(dir, "missing.toml")), 1, "no config file", "config default")
}
