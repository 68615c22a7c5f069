package integration

import (
	"crypto/tls"
	"net/smtp"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// loopMessage is a message that has already passed 60 hops.
func loopMessage(subject string) string {
	var b strings.Builder
	for i := 0; i < 60; i++ {
		b.WriteString("Received: from hop" + string(rune('a'+i%26)) + ".example.org by mx.example.org; Mon, 2 Jun 2025 10:00:00 +0000\r\n")
	}
	return b.String() + rxMessage(subject, subject+"@example.org", "looping\r\n")
}

// TestAbuseHopLimit: a message with 60 Received: fields is refused with 554 5.4.6 on
// every way in (SMTP, submission, LMTP, local submission); nothing is stored or relayed
// and the daemon lives.
func TestAbuseHopLimit(t *testing.T) {
	t.Parallel()
	st := newRelayStub(t, "starttls")
	st.Start()
	s := sxServer(t, st, st.RelayConfig(t, "", 0o400), "")

	c := rxDialSMTP(t, s)
	c.expect(250, "EHLO client.example.org")
	if _, code, msg := c.send("x@example.org", []string{"alice@example.test"}, loopMessage("smtp loop")); code != 554 || !strings.HasPrefix(msg, "5.4.6") {
		t.Errorf("port 25: %d %s", code, msg)
	}
	c.quit()

	l := rxDialLMTP(t, s)
	l.expect(250, "LHLO client.example.org")
	if _, code, msg := l.send("x@example.org", []string{"alice@example.test"}, loopMessage("lmtp loop")); code != 554 || !strings.HasPrefix(msg, "5.4.6") {
		t.Errorf("LMTP: %d %s", code, msg)
	}

	sc, err := smtp.Dial(s.Addrs["submission"])
	if err != nil {
		t.Fatal(err)
	}
	defer sc.Close()
	if err := sc.StartTLS(&tls.Config{InsecureSkipVerify: true, ServerName: "mail.example.test"}); err != nil {
		t.Fatal(err)
	}
	if err := sc.Auth(smtp.PlainAuth("", "alice@example.test", sxPassword, "127.0.0.1")); err != nil {
		t.Fatal(err)
	}
	if err := sc.Mail("alice@example.test"); err != nil {
		t.Fatal(err)
	}
	if err := sc.Rcpt("friend@example.org"); err != nil {
		t.Fatal(err)
	}
	w, err := sc.Data()
	if err != nil {
		t.Fatal(err)
	}
	w.Write([]byte(strings.Replace(loopMessage("submission loop"), "From: sender@example.org", "From: alice@example.test", 1)))
	if err := w.Close(); err == nil || !strings.Contains(err.Error(), "554") || !strings.Contains(err.Error(), "5.4.6") {
		t.Errorf("submission: %v", err)
	}

	r := s.CLI(strings.ReplaceAll(loopMessage("sendmail loop"), "\r\n", "\n"), "sendmail", "-f", "alice@example.test", "friend@example.org")
	if r.Code == 0 || !strings.Contains(r.Stderr, "5.4.6") {
		t.Errorf("local submission: exit %d, %q", r.Code, r.Stderr)
	}

	// Nothing stored, nothing queued or relayed.
	if n := len(rxFiles(t, rxUserDir(s, "alice@example.test"))); n != 0 {
		t.Errorf("%d looping messages stored", n)
	}
	if q := sxQueued(t, s); len(q) != 0 {
		t.Errorf("queued: %v", q)
	}
	if ms := st.Messages(); len(ms) != 0 {
		t.Errorf("%d looping messages relayed", len(ms))
	}
	if !s.Running() {
		t.Fatal("daemon died")
	}
}

// TestAbuseSendmailBareCR: a bare CR from a local program ("<CR>.<CR><LF>", which a lax
// smart host may read as the end of the message) never reaches the relay: it arrives as
// a line end, in one message.
func TestAbuseSendmailBareCR(t *testing.T) {
	t.Parallel()
	st := newRelayStub(t, "starttls")
	st.Start()
	s := sxServer(t, st, st.RelayConfig(t, "", 0o400), "")
	body := "Subject: bare cr\n\nbefore\r.\r\nMAIL FROM:<evil@example.org>\rRCPT TO:<victim@example.net>\nafter\n"
	if r := s.CLI(body, "sendmail", "-f", "alice@example.test", "friend@example.org"); r.Code != 0 {
		t.Fatalf("sendmail: exit %d %s", r.Code, r.Stderr)
	}
	st.WaitFor(60*time.Second, "the message", func(ms []stubMessage) bool { return len(ms) >= 1 })
	sxWaitQueue(t, s, 0, 30*time.Second)
	ms := st.Messages()
	if len(ms) != 1 {
		t.Fatalf("the relay got %d messages, want 1", len(ms))
	}
	raw, err := os.ReadFile(filepath.Clean(ms[0].File))
	if err != nil {
		raw = []byte(ms[0].Body)
	}
	text := string(raw)
	if !strings.Contains(text, "after") || !strings.Contains(text, "MAIL FROM:<evil@example.org>") {
		t.Fatalf("the text did not arrive whole:\n%q", text)
	}
	for i := 0; i < len(text); i++ {
		if text[i] == '\r' && (i+1 == len(text) || text[i+1] != '\n') {
			t.Fatalf("a bare CR reached the relay at %d:\n%q", i, text)
		}
	}
}
