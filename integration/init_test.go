package integration

import (
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
