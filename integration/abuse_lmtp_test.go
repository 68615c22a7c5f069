package integration

import (
	"bufio"
	"errors"
	"io"
	"net"
	"net/textproto"
	"strings"
	"syscall"
	"testing"
	"time"
)

// Issue 14 on LMTP over TCP (listen.lmtp = "host:port"). LMTP runs none of port 25's
// sender checks: it is the door of an MTA we trust. Over a unix socket the file mode
// decides who may knock; over TCP only smtp.trusted_networks may: a stranger is
// answered 554 5.7.1 and closed before it takes a connection slot, so it can neither
// inject forged mail (which a forwarding alias would send on through the smart host)
// nor crowd out the trusted MTA. Trusted clients get every limit of port 25: connection
// counts, idle_timeout on each read (in DATA too), size and header limits, the text
// checks.

// lmtpTCPServer is a server with its LMTP listener on 127.0.0.1 and smtp config lines.
func lmtpTCPServer(t *testing.T, smtp, extra string) *Server {
	t.Helper()
	s := NewServer(t, Options{SMTP: smtp, Extra: extra, Listen: map[string]string{"lmtp": "127.0.0.1:0"}})
	if strings.HasPrefix(s.Addrs["lmtp"], "unix:") {
		t.Fatalf("lmtp listener is %q, want TCP", s.Addrs["lmtp"])
	}
	return s
}

// rxFrom connects from ip to addr, reads the greeting and returns its code and text
// with the client (one deadline over the whole conversation, as rxDial).
func rxFrom(t testing.TB, ip, addr string) (*rxConn, int, string) {
	t.Helper()
	c := dialFrom(t, ip, addr)
	_ = c.SetDeadline(time.Now().Add(2 * time.Minute))
	rc := &rxConn{t: t, c: c, tp: textproto.NewConn(c)}
	code, msg, err := rc.tp.ReadResponse(0)
	if err != nil && code == 0 {
		t.Fatalf("greeting from %s: %v", addr, err)
	}
	return rc, code, msg
}

// lmtpFrom is a trusted LMTP client from ip, past LHLO.
func lmtpFrom(t testing.TB, ip, addr string) *rxConn {
	t.Helper()
	c, code, msg := rxFrom(t, ip, addr)
	if code != 220 {
		t.Fatalf("LMTP greeting to %s: %d %s", ip, code, msg)
	}
	c.expect(250, "LHLO mta.example.test")
	return c
}

// closedBy reads what the server still sends until it closes, failing after max.
func closedBy(t testing.TB, c net.Conn, max time.Duration) string {
	t.Helper()
	_ = c.SetReadDeadline(time.Now().Add(max))
	rest, err := io.ReadAll(c)
	// A reset is a close too: the server closed with what the client had pipelined still
	// unread, and the kernel answered that with RST (clean-clone CI saw it once).
	if err != nil && !errors.Is(err, syscall.ECONNRESET) {
		t.Fatalf("the server did not close the connection within %v: %v (sent %q)", max, err, rest)
	}
	return string(rest)
}

// TestAbuseLMTPOverTCPStrangers: a stranger (127.0.0.1, outside trusted_networks)
// connecting to LMTP over TCP gets 554 5.7.1 and the connection closes, whatever it
// pipelines: its forged mail from our own domain to a forwarding alias is neither
// stored nor relayed. The trusted MTA (127.0.0.2) delivers, and its copy to the alias
// is forwarded (the control).
func TestAbuseLMTPOverTCPStrangers(t *testing.T) {
	t.Parallel()
	st := newRelayStub(t, "starttls")
	st.Start()
	s := lmtpTCPServer(t, `trusted_networks = ["127.0.0.2/32"]`, st.RelayConfig(t, "", 0o400))
	rxSetup(t, s, "alice")
	s.MustCLI("alias", "add", "fwd@example.test", "friend@example.org")
	addr := s.Addrs["lmtp"]

	forged := forwardMessage("CEO <ceo@example.test>", "fwd@example.test", "forged", "Wire 50k today.")
	c, code, msg := rxFrom(t, "127.0.0.1", addr)
	if code != 554 || !strings.HasPrefix(msg, "5.7.1 ") {
		t.Fatalf("a stranger's LMTP greeting: %d %q, want 554 5.7.1", code, msg)
	}
	// It talks on regardless (as a PIPELINING client would): nothing is answered.
	_, _ = io.WriteString(c.c, "LHLO attack.example\r\nMAIL FROM:<ceo@example.test>\r\nRCPT TO:<fwd@example.test>\r\n"+
		"RCPT TO:<alice@example.test>\r\nDATA\r\n"+forged+".\r\nQUIT\r\n")
	if rest := closedBy(t, c.c, 10*time.Second); rest != "" {
		t.Errorf("after the 554 the server still answered %q", rest)
	}
	t.Logf("a stranger on LMTP/TCP: %d %s", code, msg)

	// The trusted MTA: alice's message is stored, the alias forwards.
	tc := lmtpFrom(t, ownerIP, addr)
	if _, code, msg := tc.send("sender@example.org", []string{"alice@example.test"}, rxMessage("trusted", "trusted@example.org", "hi\r\n")); code != 250 {
		t.Fatalf("the trusted MTA's delivery: %d %s", code, msg)
	}
	if _, code, msg := tc.send("news@example.org", []string{"fwd@example.test"}, forwardMessage("News <news@example.org>", "fwd@example.test", "control", "Real mail.")); code != 250 {
		t.Fatalf("the trusted MTA's delivery to the alias: %d %s", code, msg)
	}
	tc.quit()
	alice := rxUserDir(s, "alice@example.test")
	waitSubjects(t, alice, "trusted")
	assertNothingSentOn(t, s, st, 1)
	if got := rxFindSubject(t, alice, "forged"); len(got) != 0 {
		t.Errorf("the stranger's message was stored: %v", got)
	}
	refusedLogged := false
	for _, l := range s.Log() {
		if strings.Contains(l, "service=lmtp") && strings.Contains(l, "554") && strings.Contains(l, "127.0.0.1") {
			refusedLogged = true
		}
	}
	if !refusedLogged {
		t.Error("no lmtp log line names the refused stranger")
	}
}

// floodFrom is flood from the local address ip.
func floodFrom(t testing.TB, ip, addr string, n int, greet, refuse string) (greeted, refused int) {
	t.Helper()
	return floodIPWith(t, func(c net.Conn) net.Conn { return c }, ip, addr, n, greet, refuse)
}

// TestAbuseLMTPOverTCPFlood: 1,000 connections from one trusted network are mostly
// refused with 421 4.7.0 (max_connections_per_trusted_network), 1,000 from a stranger
// are all refused with 554 5.7.1 and take no slot, both within a minute; the trusted
// MTA on its other address still delivers, the daemon lives and its peak RSS grows
// little.
func TestAbuseLMTPOverTCPFlood(t *testing.T) {
	t.Parallel()
	s := lmtpTCPServer(t, `trusted_networks = ["127.0.0.1/32", "127.0.0.2/32"]`,
		"[limits.lmtp]\nmax_connections = 100\nmax_connections_per_trusted_network = 20\n")
	rxSetup(t, s, "alice")
	addr := s.Addrs["lmtp"]
	before := daemonHWM(t, s)
	start := time.Now()
	greeted, refused := floodFrom(t, "127.0.0.1", addr, 1000, "220 ", "421 4.7.0")
	if greeted > 20 || refused < 980 {
		t.Fatalf("1000 connections from one trusted address: %d greeted, %d refused; want at most 20 greeted", greeted, refused)
	}
	t.Logf("LMTP/TCP flood from a trusted network: %d greeted, %d refused with 421 in %v", greeted, refused, time.Since(start).Round(time.Millisecond))
	start = time.Now()
	greeted, refused = floodFrom(t, "127.0.0.3", addr, 1000, "220 ", "554 5.7.1")
	if greeted != 0 || refused != 1000 {
		t.Fatalf("1000 connections from a stranger: %d greeted, %d refused; want all refused with 554 5.7.1", greeted, refused)
	}
	t.Logf("LMTP/TCP flood from a stranger: %d refused with 554 in %v", refused, time.Since(start).Round(time.Millisecond))

	c := lmtpFrom(t, ownerIP, addr)
	if _, code, msg := c.send("sender@example.org", []string{"alice@example.test"}, rxMessage("during the flood", "flood@example.org", "hi\r\n")); code != 250 {
		t.Fatalf("the trusted MTA's delivery during the flood: %d %s", code, msg)
	}
	c.quit()
	waitSubjects(t, rxUserDir(s, "alice@example.test"), "during the flood")
	afterFlood(t, s, before)
}

// TestAbuseLMTPUnixSocketFlood: the unix socket has no client network, only
// max_connections: a flood holds at most that many sessions, the rest get 421 4.7.0;
// once it lets go, the MTA delivers again.
func TestAbuseLMTPUnixSocketFlood(t *testing.T) {
	t.Parallel()
	s := NewServer(t, Options{Extra: "[limits.lmtp]\nmax_connections = 50\n"})
	rxSetup(t, s, "alice")
	sock := strings.TrimPrefix(s.Addrs["lmtp"], "unix:")
	before := daemonHWM(t, s)
	deadline := time.Now().Add(60 * time.Second)
	var held []net.Conn
	greeted, refused := 0, 0
	for i := range 300 {
		c, err := net.DialTimeout("unix", sock, 10*time.Second)
		if err != nil {
			t.Fatalf("connection %d: %v", i, err)
		}
		held = append(held, c)
		c.SetDeadline(deadline)
		l, err := bufio.NewReader(c).ReadString('\n')
		switch {
		case strings.HasPrefix(l, "220 "):
			greeted++
		case strings.HasPrefix(l, "421 4.7.0"):
			refused++
		default:
			t.Fatalf("connection %d: first line %q, %v", i, l, err)
		}
	}
	if greeted != 50 || refused != 250 {
		t.Errorf("300 connections to the LMTP socket: %d greeted, %d refused; want 50 and 250", greeted, refused)
	}
	t.Logf("LMTP socket flood: %d greeted, %d refused", greeted, refused)
	afterFlood(t, s, before)
	for _, c := range held {
		c.Close()
	}
	// The slots are freed as the server sees the closes: poll for a greeting.
	for {
		c, err := net.DialTimeout("unix", sock, 10*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		c.SetDeadline(time.Now().Add(10 * time.Second))
		l, _ := bufio.NewReader(c).ReadString('\n')
		c.Close()
		if strings.HasPrefix(l, "220 ") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the socket still refuses after the flood let go: %q", l)
		}
		time.Sleep(50 * time.Millisecond)
	}
	c := rxDialLMTP(t, s)
	c.expect(250, "LHLO mta.example.test")
	if _, code, msg := c.send("sender@example.org", []string{"alice@example.test"}, rxMessage("after the flood", "after@example.org", "hi\r\n")); code != 250 {
		t.Fatalf("delivery after the flood: %d %s", code, msg)
	}
	c.quit()
}

// TestAbuseLMTPOverTCPSilent: a client that goes silent in the middle of its message
// text is answered 421 4.4.2 and closed after idle_timeout (2 s here, against the
// 3-minute data timeout of RFC 5321 that would hold its slot), on LMTP over TCP, on
// port 25 and on the LMTP socket; the partial message is not stored.
func TestAbuseLMTPOverTCPSilent(t *testing.T) {
	t.Parallel()
	limits := "[limits.lmtp]\nidle_timeout = \"2s\"\n[limits.smtp]\nidle_timeout = \"2s\"\n"
	tcp := lmtpTCPServer(t, "", limits)
	rxSetup(t, tcp, "alice")
	unix := NewServer(t, Options{Extra: limits})
	rxSetup(t, unix, "alice")
	for _, tc := range []struct {
		name string
		s    *Server
		dial func() *rxConn
		helo string
	}{
		{"lmtp over tcp", tcp, func() *rxConn { c, _, _ := rxFrom(t, "127.0.0.1", tcp.Addrs["lmtp"]); return c }, "LHLO"},
		{"smtp", tcp, func() *rxConn { return rxDialSMTP(t, tcp) }, "EHLO"},
		{"lmtp socket", unix, func() *rxConn { return rxDialLMTP(t, unix) }, "LHLO"},
	} {
		c := tc.dial()
		c.expect(250, "%s client.example.org", tc.helo)
		c.expect(250, "MAIL FROM:<sender@example.org>")
		c.expect(250, "RCPT TO:<alice@example.test>")
		c.expect(354, "DATA")
		c.raw("From: sender@example.org\r\nSubject: silent " + tc.name + "\r\n\r\nthe first line, then nothing")
		start := time.Now()
		rest := closedBy(t, c.c, 20*time.Second)
		took := time.Since(start)
		if !strings.HasPrefix(rest, "421 4.4.2 ") {
			t.Errorf("%s: a client silent in DATA was told %q, want 421 4.4.2", tc.name, rest)
		}
		if took < 1500*time.Millisecond || took > 10*time.Second {
			t.Errorf("%s: closed %v after it went silent, want about the 2 s idle_timeout", tc.name, took)
		}
		t.Logf("%s: silent in DATA, closed after %v", tc.name, took.Round(10*time.Millisecond))
		if got := rxFindSubject(t, rxUserDir(tc.s, "alice@example.test"), "silent "+tc.name); len(got) != 0 {
			t.Errorf("%s: the partial message was stored", tc.name)
		}
	}
	if !tcp.Running() || !unix.Running() {
		t.Fatal("daemon died")
	}
}

// TestAbuseLMTPOverTCPOversized: from a trusted client, a message over
// message_size_limit (announced with SIZE= or not) and a header over 102400 octets get
// 552 5.3.4, nothing of them is stored and the session goes on.
func TestAbuseLMTPOverTCPOversized(t *testing.T) {
	t.Parallel()
	s := lmtpTCPServer(t, "message_size_limit = 200000\n", "")
	rxSetup(t, s, "alice")
	before := daemonHWM(t, s)
	c := lmtpFrom(t, "127.0.0.1", s.Addrs["lmtp"])
	if code, msg := c.cmd("MAIL FROM:<sender@example.org> SIZE=300000"); code != 552 || !strings.HasPrefix(msg, "5.3.4") {
		t.Errorf("MAIL with SIZE over the limit: %d %s, want 552 5.3.4", code, msg)
	}
	for _, tc := range []struct{ name, text, says string }{
		{"oversized", rxMessage("oversized", "big@example.org", strings.Repeat(strings.Repeat("x", 76)+"\r\n", 4000)), "message file too big"},
		{"huge header", hugeHeader(50000), "message header too big"},
	} {
		_, code, msg := c.send("sender@example.org", []string{"alice@example.test"}, tc.text)
		if code != 552 || !strings.HasPrefix(msg, "5.3.4 ") || !strings.Contains(msg, tc.says) {
			t.Errorf("%s: %d %s, want 552 5.3.4 %s", tc.name, code, msg, tc.says)
		}
		if _, code, msg := c.send("sender@example.org", []string{"alice@example.test"}, rxMessage("after "+tc.name, "a@example.org", "ok\r\n")); code != 250 {
			t.Errorf("after %s, the next message: %d %s", tc.name, code, msg)
		}
	}
	c.quit()
	alice := rxUserDir(s, "alice@example.test")
	waitSubjects(t, alice, "after oversized", "after huge header")
	if got := rxFiles(t, alice); len(got) != 2 {
		t.Errorf("alice has %d messages, want only the 2 that fit", len(got))
	}
	afterFlood(t, s, before)
}

// TestAbuseLMTPOverTCPInjection: from a trusted client, the SMTP smuggling endings, a
// bare CR in the header (a hidden Bcc:) and a CR in the LHLO name (which the Received
// field quotes) are refused or neutralised: no smuggled message, no injected field.
func TestAbuseLMTPOverTCPInjection(t *testing.T) {
	t.Parallel()
	s := lmtpTCPServer(t, "", "")
	rxSetup(t, s, "alice", "bob")
	addr := s.Addrs["lmtp"]
	smuggled := "MAIL FROM:<admin@example.org>\r\nRCPT TO:<bob@example.test>\r\nDATA\r\n" +
		"From: admin@example.org\r\nSubject: smuggled\r\n\r\nsend money\r\n"
	for _, tc := range []struct{ name, text string }{
		{"LF.LF", "Subject: carrier\r\n\r\nhello\n.\n" + smuggled},
		{"CR.CR", "Subject: carrier\r\n\r\nhello\r.\r" + smuggled},
		{"CRLF.CR", "Subject: carrier\r\n\r\nhello\r\n.\r" + smuggled},
		{"bare CR in header", "Subject: carrier\rBcc: bob@example.test\r\n\r\nhello\r\n"},
	} {
		c := lmtpFrom(t, "127.0.0.1", addr)
		c.expect(250, "MAIL FROM:<sender@example.org>")
		c.expect(250, "RCPT TO:<alice@example.test>")
		c.expect(354, "DATA")
		c.raw(tc.text + ".\r\n")
		if code, msg := c.reply(); code/100 != 5 {
			t.Errorf("%s: %d %s, want a 5xx refusal", tc.name, code, msg)
		}
		c.expect(250, "NOOP")
		c.quit()
	}
	// The LHLO name is quoted in Received: a CR in it is either refused or made
	// harmless; either way no field of the client's making appears.
	c, _, _ := rxFrom(t, "127.0.0.1", addr)
	if code, msg := c.cmd("LHLO mta.example.test\rX-Injected: yes"); code != 250 {
		t.Logf("LHLO with a CR: %d %s", code, msg)
		c.expect(250, "LHLO mta.example.test")
	}
	if _, code, msg := c.send("sender@example.org", []string{"alice@example.test"}, rxMessage("control", "control@example.org", "hi\r\n")); code != 250 {
		t.Fatalf("control: %d %s", code, msg)
	}
	c.quit()
	alice := rxUserDir(s, "alice@example.test")
	waitSubjects(t, alice, "control")
	files := rxFiles(t, alice)
	if len(files) != 1 {
		t.Errorf("alice has %d messages, want only the control", len(files))
	}
	for _, f := range files {
		if h := rxHeader(t, f); len(h["X-Injected"]) > 0 || len(h["Bcc"]) > 0 {
			t.Errorf("an injected field was stored: %v", h)
		}
	}
	if got := rxFiles(t, rxUserDir(s, "bob@example.test")); len(got) != 0 {
		t.Errorf("bob received the smuggled or hidden message: %v", got)
	}
	if !s.Running() {
		t.Fatal("daemon died")
	}
}
