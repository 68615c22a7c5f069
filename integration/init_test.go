package integration

import (
	"bufio"
	"crypto/tls"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestInit is issue 7's init check: on an empty machine, postern init with a Fastmail
// relay writes a valid config and a private password file, and prints records naming
// Fastmail's SPF include and DKIM CNAMEs.
func TestInit(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	cfgPath := filepath.Join(dir, "etc", "postern.toml")
	args := []string{"init", "--domain", "example.com", "--hostname", "mail.example.com", "--relay", "fastmail",
		"--relay-user", "you@fastmail.com", "--password-stdin", "--user", "you@example.com", "--state-dir", filepath.Join(dir, "state")}
	r := runCLI(t, cfgPath, "app-password-123\n", nil, args...)
	if r.Code != 0 {
		t.Fatalf("init: exit %d\n%s\n%s", r.Code, r.Stdout, r.Stderr)
	}
	for _, want := range []string{
		`example.com. 3600 IN MX 10 mail.example.com.`,
		`"v=spf1 include:spf.messagingengine.com ~all"`,
		`fm1._domainkey.example.com. 3600 IN CNAME fm1.example.com.dkim.fmhosted.com.`,
		`fm2._domainkey.example.com. 3600 IN CNAME fm2.example.com.dkim.fmhosted.com.`,
		`_dmarc.example.com.`, `_submission._tcp.example.com. 3600 IN SRV 0 1 587 mail.example.com.`,
		`_imaps._tcp.example.com.`, `autoconfig.example.com. 3600 IN CNAME mail.example.com.`,
		`postern user add you@example.com`,
	} {
		if !strings.Contains(r.Stdout, want) {
			t.Errorf("init output lacks %q:\n%s", want, r.Stdout)
		}
	}
	pw := filepath.Join(dir, "etc", "relay.password")
	fi, err := os.Stat(pw)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("relay password file: %v %v", fi, err)
	}
	if data, _ := os.ReadFile(pw); strings.TrimSpace(string(data)) != "app-password-123" {
		t.Errorf("password file holds %q", data)
	}
	if c := runCLI(t, cfgPath, "", nil, "config", "check"); c.Code != 0 {
		t.Errorf("config check of the written config: %d %s %s", c.Code, c.Stdout, c.Stderr)
	}
	cfg, _ := os.ReadFile(cfgPath)
	for _, want := range []string{`host = "smtp.fastmail.com"`, `port = 465`, `tls = "implicit"`, `username = "you@fastmail.com"`} {
		if !strings.Contains(string(cfg), want) {
			t.Errorf("config lacks %q:\n%s", want, cfg)
		}
	}
	// A second init refuses to overwrite.
	if r := runCLI(t, cfgPath, "x\n", nil, args...); r.Code == 0 || !strings.Contains(r.Stderr, "already exists") {
		t.Errorf("second init: %d %s", r.Code, r.Stderr)
	}
	// dns records prints the same records again from the config.
	if r := runCLI(t, cfgPath, "", nil, "dns", "records", "example.com"); r.Code != 0 || !strings.Contains(r.Stdout, "include:spf.messagingengine.com") {
		t.Errorf("dns records: %d %s %s", r.Code, r.Stdout, r.Stderr)
	}
}

// TestDNSCheck points [dns] servers at an in-process DNS server holding some of the
// records, some wrong, and checks the report record by record.
func TestDNSCheck(t *testing.T) {
	t.Parallel()
	f := startFakeDNS(t, false, `
example.test. 60 IN MX 10 mail.example.test.
example.test. 60 IN TXT "v=spf1 mx ~all"
_dmarc.example.test. 60 IN TXT "v=DMARC1; p=reject"
_submission._tcp.example.test. 60 IN SRV 0 1 2525 mail.example.test.
_imaps._tcp.example.test. 60 IN SRV 0 1 993 mail.example.test.
`)
	s := NewServer(t, Options{NoStart: true, Extra: "[dns]\nservers = [\"" + f.Addr + "\"]\n"})
	r := runCLI(t, s.Config, "", nil, "dns", "check", "example.test")
	if r.Code != 1 {
		t.Errorf("dns check exit %d, want 1 (records missing)\n%s%s", r.Code, r.Stdout, r.Stderr)
	}
	lines := map[string]string{}
	for _, l := range strings.Split(strings.TrimSpace(r.Stdout), "\n") {
		f := strings.Fields(l)
		if len(f) >= 3 {
			st := f[0]
			if st == "lookup" {
				st, f = "lookup failed", f[1:]
			}
			lines[f[1]+" "+strings.TrimSuffix(f[2], ":")] = st
		}
	}
	for k, want := range map[string]string{
		"example.test MX":                    "ok",
		"example.test TXT":                   "ok",
		"_dmarc.example.test TXT":            "ok",
		"_submission._tcp.example.test SRV":  "wrong",
		"_imaps._tcp.example.test SRV":       "ok",
		"_submissions._tcp.example.test SRV": "missing",
		"autoconfig.example.test CNAME":      "missing",
		"_smtp._tls.example.test TXT":        "missing",
	} {
		if lines[k] != want {
			t.Errorf("%s: %q, want %q\n%s", k, lines[k], want, r.Stdout)
		}
	}
	if !strings.Contains(r.Stdout, "want 0 1 587 mail.example.test.") {
		t.Errorf("the wrong SRV record does not say what is wanted:\n%s", r.Stdout)
	}
}

// TestInitServerStarts is issue 7's "gives a server that starts": init with the first
// user's password on stdin (after the relay password) prepares the database, the domain
// and the user's mailboxes, and the daemon started on that config lets the user log in
// over IMAPS and see the default folders at once.
func TestInitServerStarts(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	cfgPath := filepath.Join(dir, "etc", "postern.toml")
	state := filepath.Join(dir, "state")
	r := runCLI(t, cfgPath, "relay-app-password\nfirst user pass\n", nil, "init", "--domain", "example.com",
		"--hostname", "mail.example.com", "--relay", "fastmail", "--relay-user", "you@fastmail.com",
		"--relay-password-stdin", "--user", "You@Example.com", "--user-password-stdin", "--state-dir", state)
	if r.Code != 0 {
		t.Fatalf("init: exit %d\n%s\n%s", r.Code, r.Stdout, r.Stderr)
	}
	for _, want := range []string{"prepared " + state + ": the database, domain example.com, user You@Example.com with its mailboxes",
		"aliased postmaster@example.com and abuse@example.com to You@Example.com", "log in as You@Example.com"} {
		if !strings.Contains(r.Stdout, want) {
			t.Errorf("init output lacks %q:\n%s", want, r.Stdout)
		}
	}
	if strings.Contains(r.Stdout, "postern user add") || strings.Contains(r.Stdout, "postern domain add") {
		t.Errorf("init prints commands for what it already did:\n%s", r.Stdout)
	}
	if data, _ := os.ReadFile(filepath.Join(dir, "etc", "relay.password")); strings.TrimSpace(string(data)) != "relay-app-password" {
		t.Errorf("relay password file holds %q (the two stdin lines mixed up?)", data)
	}

	// Start the daemon on init's config, with test ports and a short runtime dir.
	rt, err := os.MkdirTemp("", "pt")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(rt) })
	written, err := os.ReadFile(cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "runtime_dir = %q\n%s\n[listen]\n", rt, written)
	for _, name := range defaultListen {
		addr := "127.0.0.1:0"
		if name == "lmtp" {
			addr = "unix:lmtp.sock"
		}
		fmt.Fprintf(&b, "%s = %q\n", name, addr)
	}
	if err := os.WriteFile(cfgPath, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	s := &Server{t: t, Dir: filepath.Dir(cfgPath), StateDir: state, RuntimeDir: rt, Config: cfgPath}
	t.Cleanup(s.Stop)
	s.Start()

	c, err := tls.Dial("tcp", s.Addrs["imaps"], &tls.Config{InsecureSkipVerify: true})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	rd := bufio.NewReader(c)
	cmd := func(tag, line string) []string {
		t.Helper()
		fmt.Fprintf(c, "%s %s\r\n", tag, line)
		var out []string
		for {
			l, err := rd.ReadString('\n')
			if err != nil {
				t.Fatalf("%s: %v (so far %q)", line, err, out)
			}
			out = append(out, l)
			if strings.HasPrefix(l, tag+" ") {
				return out
			}
		}
	}
	if l, _ := rd.ReadString('\n'); !strings.HasPrefix(l, "* OK") {
		t.Fatalf("greeting %q", l)
	}
	if out := cmd("a1", `LOGIN you@example.com "first user pass"`); !strings.HasPrefix(out[len(out)-1], "a1 OK") {
		t.Fatalf("the user init created cannot log in: %q", out)
	}
	list := strings.Join(cmd("a2", `LIST "" "*"`), "")
	for _, want := range []string{"INBOX", `\Sent`, `\Drafts`, `\Trash`, `\Junk`} {
		if !strings.Contains(list, want) {
			t.Errorf("LIST after init lacks %s:\n%s", want, list)
		}
	}
	// The first user is the owner: root's mail (cron's) reaches them through postmaster@.
	aliases := s.MustCLI("alias", "list")
	for _, want := range []string{"postmaster@example.com", "abuse@example.com"} {
		if !strings.Contains(aliases, want) {
			t.Errorf("alias list lacks %s:\n%s", want, aliases)
		}
	}
	smSend(t, s, nil, "cron for root", "root")
	smWaitFile(t, filepath.Join(state, "mail", "example.com", "you"), "cron for root")
}
