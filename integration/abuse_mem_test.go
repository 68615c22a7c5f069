package integration

import (
	"bufio"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"
)

// This file drives issue 14's memory attacks against the real binary: a message of a
// few MiB whose MIME structure nests 400 levels deep (message/rfc822 or multipart), or
// one of 50,000 parts, sent by a stranger to port 25,
// then fetched over IMAPS (BODYSTRUCTURE, ENVELOPE, BODY[], SEARCH) before and after a
// restart. Each case asserts the answers, that the daemon lives, that the message reads
// back byte for byte, and the growth of the daemon's peak RSS (VmHWM) over idle.

// memBudgetKiB is the bound issue 14 sets on peak-RSS growth for one message
// (daemonHWM, abuse_conns_test.go, reads the daemon's VmHWM in KiB).
const memBudgetKiB = 256 * 1024

// memPeakKiB is the daemon's VmHWM in KiB (daemonHWM, abuse_conns_test.go).
func memPeakKiB(t testing.TB, s *Server) int64 { return int64(daemonHWM(t, s)) }

// nestedRFC822 is a message whose body is a message/rfc822 part holding another, depth
// times, with about payload bytes of text at the bottom. Lines end in CRLF and none
// starts with a dot, so it goes through DATA as it is.
func nestedRFC822(depth, payload int, needle string) string {
	var b strings.Builder
	b.WriteString("From: Mallory <mallory@example.org>\r\nTo: alice@example.test\r\n" +
		"Subject: nested 0\r\nMessage-ID: <nest@example.org>\r\nDate: Mon, 2 Jun 2025 10:00:00 +0000\r\n" +
		"MIME-Version: 1.0\r\n")
	for i := 1; i <= depth; i++ {
		fmt.Fprintf(&b, "Content-Type: message/rfc822\r\n\r\nFrom: level%d@example.org\r\nSubject: nested %d\r\n", i, i)
	}
	b.WriteString("Content-Type: text/plain\r\n\r\n" + needle + "\r\n")
	line := strings.Repeat("abcdefghij", 7) + "\r\n"
	for n := 0; n < payload; n += len(line) {
		b.WriteString(line)
	}
	return b.String()
}

// nestedMultipart nests multipart/mixed depth levels deep, each level with its own
// boundary, and payload bytes of text at the bottom.
func nestedMultipart(depth, payload int, needle string) string {
	var b strings.Builder
	b.WriteString("From: mallory@example.org\r\nTo: alice@example.test\r\nSubject: multipart nest\r\n" +
		"Message-ID: <mpnest@example.org>\r\nMIME-Version: 1.0\r\n")
	for i := 1; i <= depth; i++ {
		fmt.Fprintf(&b, "Content-Type: multipart/mixed; boundary=\"b%d\"\r\n\r\n--b%d\r\n", i, i)
	}
	b.WriteString("Content-Type: text/plain\r\n\r\n" + needle + "\r\n")
	line := strings.Repeat("klmnopqrst", 7) + "\r\n"
	for n := 0; n < payload; n += len(line) {
		b.WriteString(line)
	}
	for i := depth; i >= 1; i-- {
		fmt.Fprintf(&b, "--b%d--\r\n", i)
	}
	return b.String()
}

// manyParts is a flat multipart/mixed with n tiny parts, the needle in the last.
func manyParts(n int, needle string) string {
	var b strings.Builder
	b.WriteString("From: mallory@example.org\r\nTo: alice@example.test\r\nSubject: many parts\r\n" +
		"Message-ID: <parts@example.org>\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"p\"\r\n\r\n")
	for range n - 1 {
		b.WriteString("--p\r\n\r\nx\r\n")
	}
	b.WriteString("--p\r\n\r\n" + needle + "\r\n--p--\r\n")
	return b.String()
}

func TestAbuseNestedMessageMemory(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name, needle, text string
	}{
		{"rfc822x400", "needle-rfc822-7f3a", nestedRFC822(400, 4<<20, "needle-rfc822-7f3a")},
		{"multipartx400", "needle-multipart-9c1e", nestedMultipart(400, 4<<20, "needle-multipart-9c1e")},
		{"parts50000", "needle-parts-3b7d", manyParts(50000, "needle-parts-3b7d")},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s := NewServer(t, Options{})
			rxSetup(t, s, "alice")
			abuseNested(t, s, tc.text, tc.needle)
		})
	}
}

func abuseNested(t *testing.T, s *Server, text, needle string) {
	idle := memPeakKiB(t, s)
	c := rxDialSMTP(t, s)
	c.expect(250, "EHLO client.example.org")
	_, code, msg := c.send("mallory@example.org", []string{"alice@example.test"}, text)
	if code != 250 {
		t.Fatalf("DATA of the nested message: %d %s", code, msg)
	}
	c.quit()
	dir := rxUserDir(s, "alice@example.test")
	deadline := time.Now().Add(30 * time.Second)
	for len(rxFiles(t, dir)) == 0 {
		if time.Now().After(deadline) {
			t.Fatal("the nested message never reached the Maildir")
		}
		time.Sleep(50 * time.Millisecond)
	}
	check := func(when string) {
		m := dialIMAPS(t, s)
		m.ok("LOGIN alice@example.test " + imapPassword)
		m.ok("SELECT INBOX")
		got := m.ok("FETCH 1 (ENVELOPE BODYSTRUCTURE)")
		if !strings.Contains(got, "BODYSTRUCTURE (") || !strings.Contains(got, "ENVELOPE (") {
			t.Fatalf("%s: FETCH ENVELOPE BODYSTRUCTURE answered %.300q", when, got)
		}
		if len(got) > 1<<20 {
			t.Errorf("%s: the BODYSTRUCTURE answer is %d bytes: the structure was not flattened", when, len(got))
		}
		body := m.ok("FETCH 1 BODY.PEEK[]")
		if !strings.Contains(body, text) {
			t.Errorf("%s: BODY[] (%d bytes) does not hold the message sent (%d bytes)", when, len(body), len(text))
		}
		if got := m.ok("SEARCH BODY " + needle); !strings.Contains(got, "* SEARCH 1") {
			t.Errorf("%s: SEARCH BODY %s answered %q", when, needle, got)
		}
		m.ok("LOGOUT")
		if !s.Running() {
			t.Fatalf("%s: the daemon died", when)
		}
		if grew := memPeakKiB(t, s) - idle; grew > memBudgetKiB {
			t.Errorf("%s: peak RSS grew by %d MiB over idle (%d MiB), want < %d MiB", when, grew>>10, idle>>10, memBudgetKiB>>10)
		} else {
			t.Logf("%s: peak RSS %d MiB, %d MiB over idle", when, (idle+grew)>>10, grew>>10)
		}
	}
	check("after delivery")
	s.Restart()
	idle = memPeakKiB(t, s)
	check("after restart")
}

// imapRaw is a bare IMAP client over TLS: each command, the lines and literals of the
// answer, nothing parsed away.
type imapRaw struct {
	t   testing.TB
	c   net.Conn
	r   *bufio.Reader
	tag int
}

func dialIMAPS(t testing.TB, s *Server) *imapRaw {
	t.Helper()
	c, err := tls.DialWithDialer(&net.Dialer{Timeout: 10 * time.Second}, "tcp", s.Addrs["imaps"],
		&tls.Config{InsecureSkipVerify: true}) // the harness's self-signed certificate
	if err != nil {
		t.Fatalf("dial imaps: %v", err)
	}
	t.Cleanup(func() { c.Close() })
	_ = c.SetDeadline(time.Now().Add(3 * time.Minute))
	m := &imapRaw{t: t, c: c, r: bufio.NewReaderSize(c, 64<<10)}
	if line := m.line(); !strings.HasPrefix(line, "* OK") {
		t.Fatalf("IMAP greeting: %q", line)
	}
	return m
}

func (m *imapRaw) line() string {
	m.t.Helper()
	l, err := m.r.ReadString('\n')
	if err != nil {
		m.t.Fatalf("reading the IMAP answer: %v (after %q)", err, l)
	}
	return l
}

// ok sends one command and returns everything the server answered before the tagged
// OK (literals included); anything but OK fails the test.
func (m *imapRaw) ok(cmd string) string {
	m.t.Helper()
	got, status := m.do(cmd)
	if !strings.HasPrefix(status, "OK") {
		m.t.Fatalf("%s: %s", cmd, status)
	}
	return got
}

// do sends one command and returns everything the server answered before the tagged
// status (literals included) and that status ("OK ...", "NO ...", "BAD ...").
func (m *imapRaw) do(cmd string) (answer, status string) {
	m.t.Helper()
	m.tag++
	tag := fmt.Sprintf("a%d", m.tag)
	if _, err := fmt.Fprintf(m.c, "%s %s\r\n", tag, cmd); err != nil {
		m.t.Fatalf("sending %s: %v", cmd, err)
	}
	var b strings.Builder
	for {
		l := m.line()
		if rest, ok := strings.CutPrefix(l, tag+" "); ok {
			return b.String(), strings.TrimSpace(rest)
		}
		b.WriteString(l)
		for strings.HasSuffix(l, "}\r\n") {
			open := strings.LastIndexByte(l, '{')
			n, err := strconv.Atoi(strings.TrimSuffix(l[open+1:len(l)-3], "+"))
			if open < 0 || err != nil {
				break
			}
			lit := make([]byte, n)
			if _, err := io.ReadFull(m.r, lit); err != nil {
				m.t.Fatalf("%s: reading a %d-byte literal: %v", cmd, n, err)
			}
			b.Write(lit)
			l = m.line()
			b.WriteString(l)
		}
	}
}
