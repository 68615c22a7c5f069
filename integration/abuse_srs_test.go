package integration

import (
	"strings"
	"testing"
	"time"
)

// TestAbuseSRS: a forwarded message leaves with an SRS sender whose hash has 8
// characters; guessing SRS addresses at RCPT gets 550 and, after the limiter's budget
// for the network, 450 for every SRS address (valid or not), so RCPT is no oracle.
func TestAbuseSRS(t *testing.T) {
	t.Parallel()
	st := newRelayStub(t, "starttls")
	st.Start()
	s := NewServer(t, Options{SMTP: "trusted_networks = []\n", Extra: st.RelayConfig(t, "", 0o400) + "\n[spf]\ncheck = false\n[dmarc]\ncheck = false\n[dkim]\nverify = false\n"})
	rxSetup(t, s, "alice")
	s.MustCLI("alias", "add", "fwd@example.test", "friend@example.org")

	c := rxDialSMTP(t, s)
	c.expect(250, "EHLO client.example.org")
	if _, code, msg := c.send("bob@example.org", []string{"fwd@example.test"}, rxMessage("srs forward", "srs1@example.org", "hello\r\n")); code != 250 {
		t.Fatalf("forward: %d %s", code, msg)
	}
	ms := st.WaitFor(60*time.Second, "the forwarded copy", func(ms []stubMessage) bool { return len(ms) >= 1 })
	parts := strings.Split(ms[0].MailFrom, "=")
	if len(parts) < 5 || !strings.EqualFold(parts[0], "SRS0") || len(parts[1]) < 8 {
		t.Fatalf("forwarded with MAIL FROM %q; want SRS0 with a hash of 8 or more characters", ms[0].MailFrom)
	}
	valid := ms[0].MailFrom

	refused, held := 0, 0
	c.expect(250, "MAIL FROM:<x@example.org>")
	for i := 0; i < 40; i++ {
		code, _ := c.cmd("RCPT TO:<SRS0=AAAA%04d=%s=example.org=victim@example.test>", i, parts[2])
		switch code {
		case 550:
			refused++
		case 450:
			held++
		default:
			t.Fatalf("guess %d: %d", i, code)
		}
	}
	if held == 0 || refused > 31 {
		t.Fatalf("40 forged SRS recipients: %d refused 550, %d held 450; want the limiter to stop the guessing", refused, held)
	}
	// Now even the valid address is held: the answer says nothing.
	if code, _ := c.cmd("RCPT TO:<%s>", valid); code != 450 {
		t.Fatalf("valid SRS address from the locked network: %d", code)
	}
	if !s.Running() {
		t.Fatal("daemon died")
	}
}
