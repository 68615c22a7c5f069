package integration

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/postern/postern/doctor"
)

// TestDoctorExplains: postern doctor against a daemon set up with the silent failures
// of the issue: a relay (the aiosmtpd stand-in) that refuses the password, a second
// relay on port 465 with STARTTLS, a certificate file 10 days from expiry, an SPF
// no DMARC record (fake DNS), a TLS key others can read.
// Each is one finding with its fix, the open-relay test passes, and the exit status is 1.
func TestDoctorExplains(t *testing.T) {
	t.Parallel()
	stub := newRelayStub(t, "starttls")
	stub.Start()
	dns := startFakeDNS(t, false, "example.test. 3600 IN MX 10 mail.example.test.", `example.test. 3600 IN TXT "v=spf1 -all"`)
	dir := t.TempDir()
	certFile, keyFile := filepath.Join(dir, "mail.crt"), filepath.Join(dir, "mail.key")
	writeCertUntil(t, "mail.example.test", certFile, keyFile, time.Now().Add(10*24*time.Hour+time.Hour))
	leaky := filepath.Join(dir, "backup.password")
	if err := os.WriteFile(leaky, []byte("pw\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	os.Chmod(keyFile, 0o644) // the daemon refuses such a password file at start, but not a key

	s := NewServer(t, Options{NoStart: true, Extra: stub.RelayConfig(t, "wrong-password", 0o600) +
		fmt.Sprintf("\n[relays.backup]\nhost = \"127.0.0.1\"\nport = 465\ntls = \"starttls\"\nusername = \"u\"\npassword_file = %q\n", leaky) +
		fmt.Sprintf("\n[dns]\nservers = [%q]\n", dns.Addr)})
	cfg, err := os.ReadFile(s.Config)
	if err != nil {
		t.Fatal(err)
	}
	cfgText := strings.Replace(string(cfg), "[tls]\nself_signed = true\n", fmt.Sprintf("[tls]\ncert = %q\nkey = %q\n", certFile, keyFile), 1)
	if err := os.WriteFile(s.Config, []byte(cfgText), 0o644); err != nil {
		t.Fatal(err)
	}
	s.Start()
	s.MustCLI("domain", "add", "example.test")

	r := s.CLI("", "doctor")
	if r.Code != 1 {
		t.Errorf("doctor exit %d, want 1\n%s%s", r.Code, r.Stdout, r.Stderr)
	}
	t.Logf("postern doctor:\n%s", r.Stdout)
	for _, want := range []string{
		"PROBLEM relay ", // the refused password, at AUTH
		"535",            // the relay's reply
		"password",       // explained
		`[relays.backup] uses port 465 with tls = "starttls"`, // the TLS mode for the port
		`set tls = "implicit"`,
		"WARNING certificate    The certificate expires in 10 days",
		"mail.key is readable by every user",
		"_dmarc.example.test has no TXT record", // fake DNS holds MX and SPF only
		"ok      open-relay     A client outside trusted_networks may not relay",
	} {
		if !strings.Contains(r.Stdout, want) {
			t.Errorf("doctor output lacks %q", want)
		}
	}
	if strings.Contains(r.Stdout, "has no MX record") {
		t.Error("the MX record the fake DNS holds was reported missing")
	}
	var rep doctor.Report
	r = s.CLI("", "doctor", "--json")
	if err := json.Unmarshal([]byte(r.Stdout), &rep); err != nil || rep.OK || r.Code != 1 {
		t.Fatalf("doctor --json: exit %d, %v\n%s", r.Code, err, r.Stdout)
	}
	if got := len(stub.Messages()); got != 0 {
		t.Errorf("the doctor sent %d messages through the relay", got)
	}
}

// TestDoctorSeesProxyInFront: port 25 gets a dozen sessions from 127.0.0.1 (trusted, as
// loopback is by default) whose clients greet as different mail servers, which is what
// a port forward or proxy in front looks like from here; postern doctor names it as a
// problem from the connections the trace kept. Before them it had too little to tell.
func TestDoctorSeesProxyInFront(t *testing.T) {
	t.Parallel()
	s := NewServer(t, Options{})
	s.MustCLI("domain", "add", "example.test")
	proxyFinding := func() doctor.Finding {
		t.Helper()
		var rep doctor.Report
		out := s.CLI("", "doctor", "--json").Stdout
		if err := json.Unmarshal([]byte(out), &rep); err != nil {
			t.Fatalf("doctor --json: %v\n%s", err, out)
		}
		for _, f := range rep.Findings {
			if f.Check == "proxy" {
				return f
			}
		}
		t.Fatalf("no proxy finding:\n%s", out)
		return doctor.Finding{}
	}
	if f := proxyFinding(); f.Severity != doctor.OK || !strings.Contains(f.Message, "Too few") {
		t.Errorf("before any session: %+v", f)
	}
	for i := range 12 {
		c := rxDialSMTP(t, s)
		c.expect(250, "EHLO mx%d.sender%d.example", i, i)
		c.quit()
	}
	var f doctor.Finding
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
		if f = proxyFinding(); f.Severity == doctor.Problem {
			break
		}
	}
	t.Logf("proxy finding: %+v", f)
	if f.Severity != doctor.Problem || !strings.Contains(f.Message, "came from trusted 127.0.0.1") || !strings.Contains(f.Fix, "trusted_networks") {
		t.Errorf("doctor does not see the proxy: %+v", f)
	}
	if !s.Running() {
		t.Fatal("daemon died")
	}
}
