package integration

import (
	"strings"
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
	out := s.MustCLI("trace", "--address", "friend@example.org")
	t.Logf("postern trace:\n%s", out)
	for _, want := range []string{"queued", "route=relay", "code=535", "attempt=1", "next_attempt="} {
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
