package integration

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestRelayRefusalAlertsPostmasterOnce: mail to an outside address while the relay (the
// aiosmtpd stand-in) refuses our password waits in the queue with the 535; postmaster
// (an alias of alice) gets exactly one alert, delivered locally although the relay is
// down for us; postern trace shows the 535 and the next retry; and postern doctor
// explains the credentials. (The "fixed" note is
// covered by package alerts' tests.)
func TestRelayRefusalAlertsPostmasterOnce(t *testing.T) {
	t.Parallel()
	stub := newRelayStub(t, "starttls")
	stub.Start()
	s := NewServer(t, Options{NoStart: true, Extra: stub.RelayConfig(t, "wrong-password", 0o600) + "\n[queue]\nmin_backoff = \"1h\"\n"})
	s.Env = append(s.Env, "POSTERN_TEST_ALERT_INTERVAL=300ms")
	s.Start()
	rxSetup(t, s, "alice")
	s.MustCLI("alias", "add", "postmaster@example.test", "alice@example.test")

	if out, code := rxSwaks(t, s, "--from", "alice@example.test", "--to", "friend@example.org", "--header", "Subject: to a friend"); code != 0 {
		t.Fatalf("swaks: %d\n%s", code, out)
	}
	const subject = "[postern] the smart host refuses our password"
	inbox := rxUserDir(s, "alice@example.test")
	deadline := time.Now().Add(60 * time.Second)
	for len(rxFindSubject(t, inbox, subject)) == 0 {
		if time.Now().After(deadline) {
			t.Fatalf("no alert reached postmaster; queue:\n%s", s.MustCLI("queue", "list"))
		}
		time.Sleep(100 * time.Millisecond)
	}
	if out := s.MustCLI("queue", "list"); !strings.Contains(out, "535") {
		t.Errorf("the queue does not show the 535:\n%s", out)
	}
	wants := []string{"queued", "route=relay", "code=535", "attempt=1", "next_attempt="}
	out := waitTrace(t, s, wants, "--address", "friend@example.org")
	t.Logf("postern trace:\n%s", out)
	for _, want := range wants {
		if !strings.Contains(out, want) {
			t.Errorf("trace does not show %q (the route, the 535 and the next retry)", want)
		}
	}
	r := s.CLI("", "doctor")
	if r.Code != 1 || !strings.Contains(r.Stdout, "535") || !strings.Contains(r.Stdout, "refused the username or password") {
		t.Errorf("doctor does not explain the credentials (exit %d):\n%s", r.Code, r.Stdout)
	}
	// Several more alert rounds (300 ms each) must not mail again.
	until := time.Now().Add(2 * time.Second)
	for time.Now().Before(until) {
		time.Sleep(200 * time.Millisecond)
	}
	if n := len(rxFindSubject(t, inbox, subject)); n != 1 {
		t.Errorf("postmaster got %d alerts, want 1", n)
	}
	for _, l := range s.Log() {
		if strings.Contains(l, "alerts") && strings.Contains(l, "level=WARN") && strings.Contains(l, "err=") {
			t.Errorf("alert delivery failed: %s", l)
		}
	}

}

// TestCertRenewalFailureAlerts: a renewal that writes a certificate the daemon cannot
// load (the key no longer matches) keeps the old certificate serving and mails
// postmaster once; when the files are right again, a "fixed" note follows.
func TestCertRenewalFailureAlerts(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	certFile, keyFile := filepath.Join(dir, "mail.crt"), filepath.Join(dir, "mail.key")
	writeCertUntil(t, "mail.example.test", certFile, keyFile, time.Now().Add(60*24*time.Hour))
	good, err := os.ReadFile(certFile)
	if err != nil {
		t.Fatal(err)
	}
	s := NewServer(t, Options{NoStart: true})
	cfg, err := os.ReadFile(s.Config)
	if err != nil {
		t.Fatal(err)
	}
	cfgText := strings.Replace(string(cfg), "[tls]\nself_signed = true\n", fmt.Sprintf("[tls]\ncert = %q\nkey = %q\n", certFile, keyFile), 1)
	if cfgText == string(cfg) {
		t.Fatal("the harness config has no [tls] self_signed to replace")
	}
	if err := os.WriteFile(s.Config, []byte(cfgText), 0o644); err != nil {
		t.Fatal(err)
	}
	s.Env = append(s.Env, "POSTERN_TEST_ALERT_INTERVAL=300ms")
	s.Start()
	rxSetup(t, s, "alice")
	s.MustCLI("alias", "add", "postmaster@example.test", "alice@example.test")
	inbox := rxUserDir(s, "alice@example.test")
	waitSubject := func(subject string) {
		t.Helper()
		for deadline := time.Now().Add(60 * time.Second); len(rxFindSubject(t, inbox, subject)) == 0; time.Sleep(100 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("no mail %q reached postmaster", subject)
			}
		}
	}

	// The "renewal": a new certificate for another key.
	other := filepath.Join(dir, "other")
	writeCertUntil(t, "mail.example.test", other+".crt", other+".key", time.Now().Add(90*24*time.Hour))
	renewed, err := os.ReadFile(other + ".crt")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(certFile, renewed, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Signal(syscall.SIGHUP, 0); err != nil {
		t.Fatal(err)
	}
	subject := "[postern] the certificate " + certFile + " could not be renewed"
	waitSubject(subject)
	if n := len(rxFindSubject(t, inbox, subject)); n != 1 {
		t.Errorf("postmaster got %d alerts, want 1", n)
	}
	if body, _ := os.ReadFile(rxFindSubject(t, inbox, subject)[0]); !strings.Contains(string(body), "private key") || !strings.Contains(string(body), "keeps serving") {
		t.Errorf("the alert does not say what failed and that the old certificate serves:\n%s", body)
	}

	if err := os.WriteFile(certFile, good, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Signal(syscall.SIGHUP, 0); err != nil {
		t.Fatal(err)
	}
	waitSubject("[postern] fixed: the certificate " + certFile + " could not be renewed")
}
