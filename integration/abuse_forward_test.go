package integration

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// Issue 14 item 4: mail that failed DMARC, or that a spam filter scored as spam, is never
// sent on from our server (alias to another domain, Sieve redirect); it is filed here or
// refused. The attacker is a stranger on port 25 (trusted_networks is empty); the smart
// host is the relay stand-in, which records every message it is given.

// forwardZone is the test DNS: our domain publishes SPF that does not list the client
// and DMARC p=quarantine; good.example lists 127.0.0.1, so its mail passes aligned.
var forwardZone = []string{
	`example.test. 60 IN TXT "v=spf1 ip4:192.0.2.1 -all"`,
	`_dmarc.example.test. 60 IN TXT "v=DMARC1; p=quarantine"`,
	`good.example. 60 IN TXT "v=spf1 ip4:127.0.0.1 -all"`,
	`_dmarc.good.example. 60 IN TXT "v=DMARC1; p=reject"`,
}

// forwardServer is a server with the relay stand-in as smart host, the test DNS, users
// alice and bob, and the forwarding setup the attacks aim at: fwd@ forwards outside
// only, mixed@ to alice and outside, and bob's Sieve script redirects everything out.
func forwardServer(t *testing.T, extra string) (*Server, *relayStub) {
	t.Helper()
	st := newRelayStub(t, "starttls")
	st.Start()
	dnsSrv := startFakeDNS(t, false, forwardZone...)
	s := NewServer(t, Options{SMTP: "trusted_networks = []\n",
		Extra: st.RelayConfig(t, "", 0o400) + fmt.Sprintf("[dns]\nservers = [%q]\n", dnsSrv.Addr) + extra})
	rxSetup(t, s, "alice", "bob")
	s.MustCLI("alias", "add", "fwd@example.test", "friend@example.org")
	s.MustCLI("alias", "add", "mixed@example.test", "alice@example.test", "friend@example.org")
	script := filepath.Join(t.TempDir(), "out.sieve")
	if err := os.WriteFile(script, []byte("redirect \"out@example.org\";\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	s.MustCLI("sieve", "put", "bob@example.test", "out", script)
	s.MustCLI("sieve", "activate", "bob@example.test", "out")
	return s, st
}

// forwardMessage is a message From: from with a subject and body.
func forwardMessage(from, to, subject, body string) string {
	return "From: " + from + "\r\nTo: " + to + "\r\nSubject: " + subject + "\r\nMessage-ID: <" + strings.ReplaceAll(subject, " ", ".") +
		"@attack.example>\r\nDate: Mon, 7 Dec 2026 10:00:00 +0000\r\n\r\n" + body + "\r\n"
}

// sendOne runs one port-25 transaction from a fresh connection and returns the final
// reply to the text.
func sendOne(t *testing.T, s *Server, mailFrom, rcpt, text string) (int, string) {
	t.Helper()
	c := rxDialSMTP(t, s)
	c.expect(250, "EHLO client.attack.example")
	codes, code, msg := c.send(mailFrom, []string{rcpt}, text)
	if codes[0] != 250 {
		t.Fatalf("RCPT %s: %d", rcpt, codes[0])
	}
	c.quit()
	return code, msg
}

// assertNothingSentOn waits for the control copies (subject control) to reach the
// stand-in and the queue to drain, then fails if any other message reached it: the held
// messages went nowhere. (The queue is read first: once it is empty, everything ever
// queued is in the stand-in's files, which it writes before its 250.)
func assertNothingSentOn(t *testing.T, s *Server, st *relayStub, controls int) {
	t.Helper()
	st.WaitFor(90*time.Second, "the control copies", func(ms []stubMessage) bool {
		return len(withSubject(ms, "control")) >= controls
	})
	waitQueueEmpty(t, s)
	ms := st.Messages()
	for _, m := range ms {
		if m.Header.Get("Subject") != "control" {
			t.Errorf("relayed to %v: %q (MAIL FROM %s)", m.RcptTos, m.Header.Get("Subject"), m.MailFrom)
		}
	}
	if len(ms) != controls {
		t.Errorf("the stand-in has %d messages, want the %d control copies", len(ms), controls)
	}
	if !s.Running() {
		t.Fatal("daemon died")
	}
}

// waitQueueEmpty polls mailq until the queue is empty, failing after a minute.
func waitQueueEmpty(t *testing.T, s *Server) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for q := s.MustCLI("mailq"); !strings.Contains(q, "Mail queue is empty"); q = s.MustCLI("mailq") {
		if time.Now().After(deadline) {
			t.Fatalf("the queue did not drain:\n%s", q)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// heldLogged fails unless the log says a copy for rcpt was not sent on, and why.
func heldLogged(t *testing.T, s *Server, msg, rcpt, reason string) {
	t.Helper()
	for _, l := range s.Log() {
		if strings.Contains(l, msg) && strings.Contains(l, rcpt) && strings.Contains(l, reason) {
			return
		}
	}
	t.Errorf("no log line %q for %s with reason %q", msg, rcpt, reason)
}

// TestAbuseForwardForgedFrom: a stranger sends "From: CEO <ceo@example.test>" (our own
// domain, DMARC p=quarantine, the client not in our SPF). The forward-only alias refuses
// it (550 5.7.1), the mixed alias delivers alice's copy into her Junk, bob's redirect is
// not carried out (his copy is in Junk); nothing reaches the smart host, while a real
// message to the same addresses is forwarded.
func TestAbuseForwardForgedFrom(t *testing.T) {
	t.Parallel()
	s, st := forwardServer(t, "")
	before := daemonHWM(t, s)
	forged := func(rcpt, subject string) (int, string) {
		return sendOne(t, s, "billing@attack.example", rcpt, forwardMessage("CEO <ceo@example.test>", rcpt, subject, "Wire 50k today."))
	}
	code, msg := forged("fwd@example.test", "forged one")
	if code != 550 || !strings.Contains(msg, "5.7.1") || !strings.Contains(msg, "not forwarded") || !strings.Contains(msg, "example.test") {
		t.Errorf("forged From to a forward-only alias: %d %s; want 550 5.7.1 not forwarded", code, msg)
	}
	if code, msg := forged("mixed@example.test", "forged two"); code != 250 {
		t.Errorf("forged From to alice and outside: %d %s; want 250 (alice's copy)", code, msg)
	}
	if code, msg := forged("bob@example.test", "forged three"); code != 250 {
		t.Errorf("forged From to bob (redirects out): %d %s; want 250 (kept here)", code, msg)
	}
	// The envelope sender forged as well (SPF fail for example.test).
	if code, msg := sendOne(t, s, "ceo@example.test", "fwd@example.test", forwardMessage("CEO <ceo@example.test>", "fwd@example.test", "forged four", "x")); code != 550 {
		t.Errorf("forged envelope and From: %d %s; want 550", code, msg)
	}
	for _, rcpt := range []string{"fwd@example.test", "bob@example.test"} {
		if code, msg := sendOne(t, s, "news@good.example", rcpt, forwardMessage("News <news@good.example>", rcpt, "control", "Real mail.")); code != 250 {
			t.Fatalf("control message to %s: %d %s", rcpt, code, msg)
		}
	}
	assertNothingSentOn(t, s, st, 2)

	alice, bob := rxUserDir(s, "alice@example.test"), rxUserDir(s, "bob@example.test")
	if got := rxFindSubject(t, filepath.Join(alice, ".Junk"), "forged two"); len(got) != 1 {
		t.Errorf("alice's Junk: %v, want the forged message", got)
	}
	if got := rxFindSubject(t, filepath.Join(bob, ".Junk"), "forged three"); len(got) != 1 {
		t.Errorf("bob's Junk: %v, want the forged message his redirect did not send", got)
	}
	if got := rxFindSubject(t, alice, "forged two"); len(got) != 0 {
		t.Errorf("the forged message reached alice's INBOX: %v", got)
	}
	heldLogged(t, s, "not forwarded", "friend@example.org", "DMARC policy of example.test is quarantine")
	after := daemonHWM(t, s)
	t.Logf("VmHWM %d KiB -> %d KiB", before, after)
	if after-before > 64<<10 {
		t.Errorf("the attack grew the daemon by %d KiB", after-before)
	}
}

// TestAbuseForwardSpam: Rspamd (as milter, "add header" action through its
// GTUBE-like test pattern) scores a message from a stranger as spam: it is not
// forwarded through either alias nor redirected; alice's copy is in Junk; a clean
// message is forwarded.
func TestAbuseForwardSpam(t *testing.T) {
	t.Parallel()
	addr, _ := startRspamd(t)
	s, st := forwardServer(t, fmt.Sprintf("[milter]\naddress = %q\ntimeout = \"20s\"\n", addr))
	const addHeaderGTUBE = "YJS*C4JDBQADN1.NSBN3*2IDNEN*GTUBE-STANDARD-ANTI-UBE-TEST-EMAIL*C.34X"
	spam := func(rcpt, subject string) (int, string) {
		return sendOne(t, s, "news@good.example", rcpt, forwardMessage("News <news@good.example>", rcpt, subject, addHeaderGTUBE))
	}
	code, msg := spam("fwd@example.test", "spam one")
	if code != 550 || !strings.Contains(msg, "not forwarded") || !strings.Contains(msg, "spam") {
		t.Errorf("spam to a forward-only alias: %d %s; want 550 5.7.1 not forwarded (spam)", code, msg)
	}
	if code, msg := spam("mixed@example.test", "spam two"); code != 250 {
		t.Errorf("spam to alice and outside: %d %s", code, msg)
	}
	if code, msg := spam("bob@example.test", "spam three"); code != 250 {
		t.Errorf("spam to bob: %d %s", code, msg)
	}
	for _, rcpt := range []string{"fwd@example.test", "bob@example.test"} {
		if code, msg := sendOne(t, s, "news@good.example", rcpt, forwardMessage("News <news@good.example>", rcpt, "control", "Lunch on Friday?")); code != 250 {
			t.Fatalf("control message to %s: %d %s", rcpt, code, msg)
		}
	}
	assertNothingSentOn(t, s, st, 2)
	if got := rxFindSubject(t, filepath.Join(rxUserDir(s, "bob@example.test"), ".Junk"), "spam three"); len(got) != 1 {
		t.Errorf("bob's Junk: %v, want the spam his redirect did not send", got)
	}
	if got := append(rxFindSubject(t, rxUserDir(s, "alice@example.test"), "spam two"),
		rxFindSubject(t, filepath.Join(rxUserDir(s, "alice@example.test"), ".Junk"), "spam two")...); len(got) != 1 {
		t.Errorf("alice: %v, want her one copy of the spam", got)
	}
	heldLogged(t, s, "not forwarded", "friend@example.org", "X-Spam: Yes")
}
