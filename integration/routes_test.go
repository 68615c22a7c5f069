package integration

import (
	"strings"
	"testing"
	"time"
)

// TestSendRoutes: two stand-in smart hosts, [relay] over STARTTLS and [relays.second] over
// implicit TLS, each with its own password file. A [[route]] sends one recipient domain
// through the second; the other recipients of the same message leave through [relay].
// Then [relay] goes down: its fallback, the second relay, takes the next message in the
// same attempt, so nothing waits in the queue. postern relay test --relay second tests the
// named relay.
func TestSendRoutes(t *testing.T) {
	t.Parallel()
	primary := newRelayStub(t, "starttls")
	second := newRelayStub(t, "implicit")
	primary.Start()
	second.Start()
	secondCfg := strings.Replace(second.RelayConfig(t, "", 0o600), "[relay]", "[relays.second]", 1)
	cfg := primary.RelayConfig(t, "", 0o600) + "fallback = \"second\"\n\n" + secondCfg +
		"\n[[route]]\nrecipient_domains = [\"routed.example\"]\nvia = \"second\"\n"
	s := sxServer(t, primary, cfg, "")

	out, code := sxSwaks(t, s.Addrs["submission"], append([]string{"--tls"}, append(sxAuth("PLAIN", sxPassword),
		"--from", "alice@example.test", "--to", "bob@example.org,carol@routed.example", "--header", "Subject: routed")...)...)
	if code != 0 {
		t.Fatalf("swaks exit %d:\n%s", code, out)
	}
	ms := second.WaitFor(60*time.Second, "the routed recipient", func(ms []stubMessage) bool { return len(withSubject(ms, "routed")) > 0 })
	m := rtOne(t, ms, "routed")
	if strings.Join(m.RcptTos, ",") != "carol@routed.example" || !m.TLS || m.Auth == nil || m.Auth.Login != relayStubUser {
		t.Errorf("second relay got rcpts %q tls %v auth %+v, want carol over TLS with AUTH", m.RcptTos, m.TLS, m.Auth)
	}
	ms = primary.WaitFor(60*time.Second, "the other recipient", func(ms []stubMessage) bool { return len(withSubject(ms, "routed")) > 0 })
	if m := sxCheckRelayed(t, ms, "routed", "ESMTPSA"); strings.Join(m.RcptTos, ",") != "bob@example.org" {
		t.Errorf("primary relay got rcpts %q, want bob only", m.RcptTos)
	}
	sxWaitQueue(t, s, 0, 30*time.Second)

	// [relay] refuses connections: the fallback takes the message in the same attempt.
	primary.Stop()
	out, code = sxSwaks(t, s.Addrs["submission"], append([]string{"--tls"}, append(sxAuth("PLAIN", sxPassword),
		"--from", "alice@example.test", "--to", "dave@example.org", "--header", "Subject: fallback")...)...)
	if code != 0 {
		t.Fatalf("swaks exit %d:\n%s", code, out)
	}
	ms = second.WaitFor(60*time.Second, "the message through the fallback", func(ms []stubMessage) bool { return len(withSubject(ms, "fallback")) > 0 })
	if m := rtOne(t, ms, "fallback"); strings.Join(m.RcptTos, ",") != "dave@example.org" || !m.TLS || m.Auth == nil {
		t.Errorf("fallback relay got rcpts %q tls %v auth %+v", m.RcptTos, m.TLS, m.Auth)
	}
	sxWaitQueue(t, s, 0, 30*time.Second)
	if n := len(withSubject(primary.Messages(), "fallback")); n != 0 {
		t.Errorf("the stopped primary has %d copies of the fallback message", n)
	}

	// The named relay can be tested on its own; [relay] is down and says so.
	if out := s.MustCLI("relay", "test", "--relay", "second"); !strings.Contains(out, "auth") {
		t.Errorf("relay test --relay second:\n%s", out)
	}
	if r := s.CLI("", "relay", "test"); r.Code != 1 {
		t.Errorf("relay test of the stopped [relay]: exit %d\n%s", r.Code, r.Stdout)
	}
}

// rtOne returns the one message with subject at a stand-in.
func rtOne(t testing.TB, ms []stubMessage, subject string) stubMessage {
	t.Helper()
	got := withSubject(ms, subject)
	if len(got) != 1 {
		t.Fatalf("%q reached the relay %d times, want once", subject, len(got))
	}
	if got[0].MailFrom != "alice@example.test" {
		t.Errorf("%q: MAIL FROM %q, want alice@example.test", subject, got[0].MailFrom)
	}
	return got[0]
}
