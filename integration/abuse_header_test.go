package integration

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// Issue 14's header attacks: a header block past the receive limits (102400 octets,
// Postfix's header_size_limit, or 1000 fields) sent to port 25 or LMTP is refused with
// 552 5.3.4 while it streams in, nothing is stored, the session carries on, and the
// daemon's peak RSS barely moves. A header just inside the limits, full of
// DKIM-Signature fields and with a From: of 300 domains (DKIM and DMARC read a
// bounded window), is answered and the daemon lives within the budget.

// hugeHeader is a message whose header has n small fields.
func hugeHeader(n int) string {
	var b strings.Builder
	b.WriteString("From: mallory@example.org\r\nTo: alice@example.test\r\nSubject: huge header\r\n")
	for i := range n {
		fmt.Fprintf(&b, "X-Junk-%d: %s\r\n", i, strings.Repeat("j", 20))
	}
	b.WriteString("\r\nbody\r\n")
	return b.String()
}

func TestAbuseHeaderLimits(t *testing.T) {
	t.Parallel()
	s := NewServer(t, Options{})
	rxSetup(t, s, "alice")
	idle := memPeakKiB(t, s)
	dir := rxUserDir(s, "alice@example.test")
	for _, tc := range []struct {
		name string
		dial func(testing.TB, *Server) *rxConn
		text string
	}{
		{"smtp 50000 fields", rxDialSMTP, hugeHeader(50000)},
		{"smtp 200 KiB of folded lines", rxDialSMTP, "From: mallory@example.org\r\nSubject: folded\r\nX-Long: x" +
			strings.Repeat("\r\n\t"+strings.Repeat("y", 200), 1000) + "\r\n\r\nbody\r\n"},
		{"lmtp 50000 fields", rxDialLMTP, hugeHeader(50000)},
	} {
		c := tc.dial(t, s)
		c.expect(250, "%s client.example.org", map[bool]string{true: "LHLO", false: "EHLO"}[strings.HasPrefix(tc.name, "lmtp")])
		_, code, msg := c.send("mallory@example.org", []string{"alice@example.test"}, tc.text)
		if code != 552 || !strings.HasPrefix(msg, "5.3.4 ") || !strings.Contains(msg, "Error: message header too big") {
			t.Errorf("%s: %d %s, want 552 5.3.4", tc.name, code, msg)
		}
		// The session is still in step: a normal message goes through.
		if _, code, msg := c.send("bob@example.org", []string{"alice@example.test"}, rxMessage("after "+tc.name, "a@example.org", "ok\r\n")); code != 250 {
			t.Errorf("%s: the next message: %d %s", tc.name, code, msg)
		}
		c.quit()
	}
	waitSubjects(t, dir, "after smtp 50000 fields", "after smtp 200 KiB of folded lines", "after lmtp 50000 fields")
	if got := rxFindSubject(t, dir, "huge header"); len(got) != 0 {
		t.Errorf("%d refused messages were stored", len(got))
	}

	// Just inside the limits: 150 DKIM signatures and a From: naming 300 domains.
	var b strings.Builder
	b.WriteString("From: ")
	for i := range 300 {
		if i > 0 {
			b.WriteString(",\r\n ")
		}
		fmt.Fprintf(&b, "u%d@d%d.example.org", i, i)
	}
	b.WriteString("\r\nTo: alice@example.test\r\nSubject: wide window\r\n")
	for i := range 150 {
		fmt.Fprintf(&b, "DKIM-Signature: v=1; a=rsa-sha256; d=d%d.example.org; s=s; h=from:to:subject;\r\n bh=%s;\r\n b=%s\r\n",
			i, strings.Repeat("A", 44), strings.Repeat("B", 300))
	}
	b.WriteString("\r\n" + strings.Repeat("body line\r\n", 1000))
	if n := strings.Index(b.String(), "\r\n\r\n"); n >= 102400 {
		t.Fatalf("the wide header is %d octets, over the limit", n)
	}
	c := rxDialSMTP(t, s)
	c.expect(250, "EHLO client.example.org")
	_, code, msg := c.send("u0@d0.example.org", []string{"alice@example.test"}, b.String())
	// The message is answered one way or the other: stored (DNS gave no verdict), or
	// refused by DMARC's rule on a From: with more domains than it evaluates.
	if code != 250 && !(code == 550 && strings.HasPrefix(msg, "5.7.")) {
		t.Errorf("the wide header: %d %s", code, msg)
	}
	c.quit()
	if !s.Running() {
		t.Fatal("the daemon died")
	}
	if grew := memPeakKiB(t, s) - idle; grew > 64<<10 {
		t.Errorf("peak RSS grew by %d MiB over idle (%d MiB), want < 64 MiB", grew>>10, idle>>10)
	} else {
		t.Logf("peak RSS %d MiB, %d MiB over idle", (idle+grew)>>10, grew>>10)
	}
}

// waitSubjects waits until a message with each subject is in dir.
func waitSubjects(t *testing.T, dir string, subjects ...string) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for _, subj := range subjects {
		for len(rxFindSubject(t, dir, subj)) == 0 {
			if time.Now().After(deadline) {
				t.Fatalf("%q never reached %s", subj, dir)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
}

// TestAbuseSieveNestedMemory: the 400-level messages of abuse_mem_test.go delivered to
// a user whose script runs body, :mime :anychild, foreverypart and extracttext. The
// walk descends into message/rfc822 parts (a test on level 50 matches) within the
// depth limit; the message is filed, the daemon lives, and its peak RSS stays within
// the budget.
func TestAbuseSieveNestedMemory(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ name, text, deep string }{
		{"rfc822x400", nestedRFC822(400, 4<<20, "needle-sieve-1"), `header :mime :anychild "Subject" "nested 50"`},
		{"multipartx400", nestedMultipart(400, 4<<20, "needle-sieve-2"), `header :mime :anychild :param "boundary" "Content-Type" "b50"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s := NewServer(t, Options{})
			rxSetup(t, s, "alice")
			script := filepath.Join(t.TempDir(), "main.sieve")
			src := `require ["body", "mime", "foreverypart", "extracttext", "variables", "fileinto", "mailbox", "imap4flags"];
foreverypart { extracttext :first 100 "t"; if string :contains "${t}" "needle" { addflag "$flat"; } }
if body :text :contains "needle-sieve" { addflag "$text"; }
if ` + tc.deep + ` { fileinto :create "Deep"; }
`
			if err := os.WriteFile(script, []byte(src), 0o644); err != nil {
				t.Fatal(err)
			}
			s.MustCLI("sieve", "put", "alice@example.test", "main", script)
			s.MustCLI("sieve", "activate", "alice@example.test", "main")
			idle := memPeakKiB(t, s)
			strangerSends(t, s, tc.text)
			deep := filepath.Join(rxUserDir(s, "alice@example.test"), ".Deep")
			deadline := time.Now().Add(60 * time.Second)
			for len(rxFiles(t, deep)) == 0 {
				if time.Now().After(deadline) {
					t.Fatalf("the message was not filed into Deep (INBOX has %d)", len(rxFiles(t, rxUserDir(s, "alice@example.test"))))
				}
				time.Sleep(50 * time.Millisecond)
			}
			livesWithinBudget(t, s, idle)
		})
	}
}
