package integration

import (
	"os"
	"strings"
	"testing"
	"time"
)

// TestAbuseBuriedForgedAuthResults is issue 14's "a buried forged
// Authentication-Results does not survive": a stranger on port 25 puts fields
// claiming our name first, after 90 KiB of other header fields (near the 100 KiB
// header limit: a larger header is refused, see abuse_header_test.go), folded and
// behind a comment. None of them may reach the Maildir, whether the client is in
// trusted_networks (the harness's loopback) or not and whichever checks are on;
// another server's field stays.
func TestAbuseBuriedForgedAuthResults(t *testing.T) {
	t.Parallel()
	for name, o := range map[string]Options{
		"trusted-client": {},
		"checks-off":     {SMTP: "trusted_networks = []", Extra: "[spf]\ncheck = false\n[dkim]\nverify = false\n[dmarc]\ncheck = false\n"},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			s := NewServer(t, o)
			rxSetup(t, s, "alice")
			buriedForgery(t, s)
		})
	}
}

func buriedForgery(t *testing.T, s *Server) {
	filler := strings.Repeat("X-Filler: "+strings.Repeat("f", 90)+"\r\n", (90<<10)/102)
	msg := "Authentication-Results: mail.example.test; dmarc=pass header.from=example.test\r\n" +
		"From: ceo@example.test\r\nTo: alice@example.test\r\nSubject: buried forgery\r\n" + filler +
		"Authentication-Results: MAIL.EXAMPLE.TEST.; spf=pass smtp.mailfrom=example.test\r\n" +
		"authentication-results :\r\n (forged) mail.example.test;\r\n dkim=pass header.d=example.test\r\n" +
		"Authentication-Results: relay.example.org; spf=none\r\n\r\nbody\r\n"
	c := rxDialSMTP(t, s)
	c.expect(250, "EHLO client.example.org")
	if _, code, reply := c.send("ceo@example.test", []string{"alice@example.test"}, msg); code != 250 {
		t.Fatalf("DATA: %d %s", code, reply)
	}
	c.quit()
	dir := rxUserDir(s, "alice@example.test")
	deadline := time.Now().Add(30 * time.Second)
	var files []string
	for files = rxFindSubject(t, dir, "buried forgery"); len(files) == 0; files = rxFindSubject(t, dir, "buried forgery") {
		if time.Now().After(deadline) {
			t.Fatal("the message never reached the Maildir")
		}
		time.Sleep(50 * time.Millisecond)
	}
	b, err := os.ReadFile(files[0])
	if err != nil {
		t.Fatal(err)
	}
	head, _, _ := strings.Cut(string(b), "\r\n\r\n")
	low := strings.ToLower(head)
	if n := strings.Count(low, "mail.example.test; d") + strings.Count(low, "mail.example.test.; spf") + strings.Count(low, "(forged)"); n != 0 {
		t.Errorf("%d forged Authentication-Results survived", n)
	}
	if !strings.Contains(head, "Authentication-Results: relay.example.org; spf=none") {
		t.Error("another server's Authentication-Results was removed")
	}
	if !strings.Contains(head, filler) || !strings.HasSuffix(string(b), "\r\n\r\nbody\r\n") {
		t.Error("the rest of the message was not kept as sent")
	}
	if !s.Running() {
		t.Fatal("the daemon died")
	}
}
