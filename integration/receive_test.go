package integration

import (
	"bufio"
	"database/sql"
	"fmt"
	"io"
	"net"
	"net/textproto"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	_ "modernc.org/sqlite" // the index is read as a user with sqlite3 would: read-only
)

// This file checks receiving mail the way issue 3 says a user would: swaks and raw
// clients on port 25, raw LMTP on the unix socket, then the Maildir files, the SQLite
// index and the mail log. The helpers (prefixed rx) are shared with crash_test.go.

const rxPassword = "s3cret-Passw0rd\n"

// rxSetup adds example.test and the given local parts as users.
func rxSetup(t *testing.T, s *Server, users ...string) {
	t.Helper()
	s.MustCLI("domain", "add", "example.test")
	for _, u := range users {
		if r := s.CLI(rxPassword, "user", "add", u+"@example.test", "--password-stdin"); r.Code != 0 {
			t.Fatalf("user add %s: %d %s %s", u, r.Code, r.Stdout, r.Stderr)
		}
	}
}

// rxConn is a raw SMTP or LMTP client: each command and its reply, nothing hidden.
type rxConn struct {
	t  testing.TB
	c  net.Conn
	tp *textproto.Conn
}

// rxDial connects ("tcp", "127.0.0.1:N" or "unix", path) and reads the 220 greeting.
func rxDial(t testing.TB, network, addr string) *rxConn {
	t.Helper()
	c, err := net.DialTimeout(network, addr, 10*time.Second)
	if err != nil {
		t.Fatalf("dial %s %s: %v", network, addr, err)
	}
	t.Cleanup(func() { c.Close() })
	// One bound on the whole conversation: a hung server fails the test, never hangs it.
	_ = c.SetDeadline(time.Now().Add(2 * time.Minute))
	rc := &rxConn{t: t, c: c, tp: textproto.NewConn(c)}
	if code, msg := rc.reply(); code != 220 {
		t.Fatalf("greeting: %d %s", code, msg)
	}
	return rc
}

// rxDialSMTP connects to the server's port 25 listener.
func rxDialSMTP(t testing.TB, s *Server) *rxConn {
	t.Helper()
	return rxDial(t, "tcp", s.Addrs["smtp"])
}

// rxDialLMTP connects to the server's LMTP unix socket.
func rxDialLMTP(t testing.TB, s *Server) *rxConn {
	t.Helper()
	a := s.Addrs["lmtp"]
	if !strings.HasPrefix(a, "unix:") {
		t.Fatalf("lmtp listener is %q, want a unix socket", a)
	}
	return rxDial(t, "unix", strings.TrimPrefix(a, "unix:"))
}

// reply reads one (possibly multi-line) reply.
func (c *rxConn) reply() (int, string) {
	c.t.Helper()
	code, msg, err := c.tp.ReadResponse(0)
	if err != nil {
		c.t.Fatalf("reading reply: %v", err)
	}
	return code, msg
}

// cmd sends one command line and reads its reply.
func (c *rxConn) cmd(format string, args ...any) (int, string) {
	c.t.Helper()
	if err := c.tp.PrintfLine(format, args...); err != nil {
		c.t.Fatalf("sending %q: %v", format, err)
	}
	return c.reply()
}

// expect sends a command and fails unless the reply has the code.
func (c *rxConn) expect(want int, format string, args ...any) string {
	c.t.Helper()
	code, msg := c.cmd(format, args...)
	if code != want {
		c.t.Fatalf("%s: got %d %s, want %d", fmt.Sprintf(format, args...), code, msg, want)
	}
	return msg
}

// raw writes bytes as they are: no dot-stuffing, no line-end fixing.
func (c *rxConn) raw(b string) {
	c.t.Helper()
	if _, err := io.WriteString(c.c, b); err != nil {
		c.t.Fatalf("writing raw text: %v", err)
	}
}

// quit sends QUIT and checks that 221 is the only thing left before the close: a reply
// the client did not ask for would show a command smuggled past the server.
func (c *rxConn) quit() {
	c.t.Helper()
	if code, msg := c.cmd("QUIT"); code != 221 {
		c.t.Fatalf("QUIT: %d %s (a reply to something the client never sent?)", code, msg)
	}
	rest, _ := io.ReadAll(c.tp.R)
	if len(rest) > 0 {
		c.t.Fatalf("after 221 the server still sent %q", rest)
	}
}

// rxMessage is a small RFC 5322 message with CRLF line ends.
func rxMessage(subject, msgID, body string) string {
	return "From: sender@example.org\r\nTo: someone@example.test\r\nSubject: " + subject +
		"\r\nMessage-ID: <" + msgID + ">\r\nDate: Mon, 2 Jun 2025 10:00:00 +0000\r\n\r\n" + body
}

// send runs one transaction (the text must end in CRLF and be dot-stuffed already) and
// returns the RCPT codes and the final reply to the text.
func (c *rxConn) send(from string, rcpts []string, text string) ([]int, int, string) {
	c.t.Helper()
	c.expect(250, "MAIL FROM:<%s>", from)
	var codes []int
	ok := 0
	for _, r := range rcpts {
		code, _ := c.cmd("RCPT TO:<%s>", r)
		codes = append(codes, code)
		if code == 250 {
			ok++
		}
	}
	if ok == 0 {
		c.expect(250, "RSET")
		return codes, 0, ""
	}
	c.expect(354, "DATA")
	c.raw(text + ".\r\n")
	code, msg := c.reply()
	return codes, code, msg
}

// rxUserDir is a user's Maildir root: state_dir/mail/DOMAIN/LOCAL.
func rxUserDir(s *Server, address string) string {
	local, domain, _ := strings.Cut(address, "@")
	return filepath.Join(s.StateDir, "mail", domain, local)
}

// rxFiles lists the message files of one Maildir folder directory (new/ and cur/).
func rxFiles(t testing.TB, dir string) []string {
	t.Helper()
	var out []string
	for _, sub := range []string{"new", "cur"} {
		ents, err := os.ReadDir(filepath.Join(dir, sub))
		if os.IsNotExist(err) {
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range ents {
			if e.Type().IsRegular() {
				out = append(out, filepath.Join(dir, sub, e.Name()))
			}
		}
	}
	return out
}

// rxHeader reads a message file's header fields (names lower-cased; repeated fields
// kept in order).
func rxHeader(t testing.TB, path string) map[string][]string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	h, err := textproto.NewReader(bufio.NewReader(f)).ReadMIMEHeader()
	if err != nil && err != io.EOF {
		t.Fatalf("header of %s: %v", path, err)
	}
	out := map[string][]string{}
	for k, v := range h {
		out[strings.ToLower(k)] = v
	}
	return out
}

// rxFindSubject returns the files of a folder whose Subject is subject.
func rxFindSubject(t testing.TB, dir, subject string) []string {
	t.Helper()
	var out []string
	for _, p := range rxFiles(t, dir) {
		if slices.Contains(rxHeader(t, p)["subject"], subject) {
			out = append(out, p)
		}
	}
	return out
}

// rxBase is a Maildir file's unique part: the name without the ":2,FLAGS" info.
func rxBase(path string) string {
	b, _, _ := strings.Cut(filepath.Base(path), ":")
	return b
}

// rxOpenIndex opens the server's SQLite index read-only.
func rxOpenIndex(t testing.TB, s *Server) *sql.DB {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+filepath.Join(s.StateDir, "postern.db")+"?mode=ro&_pragma=busy_timeout(10000)")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// rxIndexed returns the file names the index holds for a user's mailbox.
func rxIndexed(t testing.TB, s *Server, user, mailbox string) []string {
	t.Helper()
	db := rxOpenIndex(t, s)
	rows, err := db.Query(`SELECT m.filename FROM messages m JOIN mailboxes b ON b.id = m.mailbox_id
		WHERE b.user = ? AND b.name = ? ORDER BY m.uid`, user, mailbox)
	if err != nil {
		t.Fatalf("querying the index: %v", err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var f string
		if err := rows.Scan(&f); err != nil {
			t.Fatal(err)
		}
		out = append(out, f)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// rxCheckIndexMatches fails unless the index of a user's INBOX names exactly the files in
// the Maildir, each once.
func rxCheckIndexMatches(t testing.TB, s *Server, user string) {
	t.Helper()
	files := map[string]int{}
	for _, p := range rxFiles(t, rxUserDir(s, user)) {
		files[rxBase(p)]++
	}
	indexed := map[string]int{}
	for _, f := range rxIndexed(t, s, user, "INBOX") {
		indexed[f]++
	}
	for f, n := range files {
		if n != 1 {
			t.Errorf("%s: base name %s appears %d times in the Maildir", user, f, n)
		}
		if indexed[f] != 1 {
			t.Errorf("%s: file %s is in the index %d times, want once", user, f, indexed[f])
		}
	}
	for f := range indexed {
		if files[f] == 0 {
			t.Errorf("%s: the index names %s, which is not in the Maildir", user, f)
		}
	}
}

// rxSwaks runs swaks against port 25 and returns its combined output and exit status.
func rxSwaks(t testing.TB, s *Server, args ...string) (string, int) {
	t.Helper()
	swaks := needTool(t, "swaks")
	host, port, err := net.SplitHostPort(s.Addrs["smtp"])
	if err != nil {
		t.Fatalf("smtp address %q: %v", s.Addrs["smtp"], err)
	}
	full := append([]string{"--server", host, "--port", port, "--ehlo", "client.example.org",
		"--timeout", "60"}, args...)
	out, err := exec.Command(swaks, full...).CombinedOutput()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("swaks: %v", err)
	}
	return string(out), code
}

// TestReceiveSwaks is issue 3's first check list, with swaks as the sending server.
func TestReceiveSwaks(t *testing.T) {
	t.Parallel()
	s := NewServer(t, Options{})
	rxSetup(t, s, "alice", "bob", "carol", "dave")
	s.MustCLI("alias", "add", "team@example.test", "alice@example.test", "bob@example.test", "carol@example.test")
	s.MustCLI("alias", "add", "loop1@example.test", "loop2@example.test")
	s.MustCLI("alias", "add", "loop2@example.test", "loop1@example.test")
	s.MustCLI("domain", "add", "other.test")
	s.MustCLI("alias", "add", "@other.test", "bob@example.test")
	s.MustCLI("user", "disable", "dave@example.test")
	alice := rxUserDir(s, "alice@example.test")

	t.Run("delivered with headers", func(t *testing.T) {
		out, code := rxSwaks(t, s, "--from", "sender@example.org", "--to", "alice@example.test",
			"--header", "Subject: hello alice")
		if code != 0 {
			t.Fatalf("swaks exit %d:\n%s", code, out)
		}
		got := rxFindSubject(t, alice, "hello alice")
		if len(got) != 1 {
			t.Fatalf("want one file with the subject in alice's Maildir, got %v", got)
		}
		if filepath.Base(filepath.Dir(got[0])) != "new" {
			t.Errorf("delivered into %s, want new/", got[0])
		}
		h := rxHeader(t, got[0])
		if v := h["return-path"]; len(v) != 1 || v[0] != "<sender@example.org>" {
			t.Errorf("Return-Path = %q", v)
		}
		if v := h["delivered-to"]; len(v) != 1 || v[0] != "alice@example.test" {
			t.Errorf("Delivered-To = %q", v)
		}
		if v := h["received"]; len(v) == 0 || !strings.Contains(v[0], "mail.example.test") || !strings.Contains(v[0], "alice@example.test") {
			t.Errorf("Received = %q, want our hostname and the recipient", v)
		}
		if !slices.Contains(rxIndexed(t, s, "alice@example.test", "INBOX"), rxBase(got[0])) {
			t.Errorf("%s is not in alice's INBOX index", rxBase(got[0]))
		}
	})

	t.Run("unknown user", func(t *testing.T) {
		out, code := rxSwaks(t, s, "--from", "sender@example.org", "--to", "nobody@example.test")
		if code == 0 || !strings.Contains(out, "550 5.1.1") {
			t.Fatalf("nobody@example.test: exit %d, want 550 5.1.1 at RCPT:\n%s", code, out)
		}
	})

	t.Run("subaddress", func(t *testing.T) {
		out, code := rxSwaks(t, s, "--from", "sender@example.org", "--to", "alice+lists@example.test",
			"--header", "Subject: for the lists")
		if code != 0 {
			t.Fatalf("swaks exit %d:\n%s", code, out)
		}
		got := rxFindSubject(t, alice, "for the lists")
		if len(got) != 1 {
			t.Fatalf("alice+lists: want one file in alice's INBOX, got %v", got)
		}
		if !slices.Contains(rxIndexed(t, s, "alice@example.test", "INBOX"), rxBase(got[0])) {
			t.Errorf("%s is not in alice's INBOX index", rxBase(got[0]))
		}
	})

	t.Run("alias with three targets", func(t *testing.T) {
		out, code := rxSwaks(t, s, "--from", "sender@example.org", "--to", "team@example.test",
			"--header", "Subject: team meeting")
		if code != 0 {
			t.Fatalf("swaks exit %d:\n%s", code, out)
		}
		for _, u := range []string{"alice", "bob", "carol"} {
			addr := u + "@example.test"
			got := rxFindSubject(t, rxUserDir(s, addr), "team meeting")
			if len(got) != 1 {
				t.Errorf("%s: want one copy, got %v", addr, got)
				continue
			}
			// Hard links between the copies are allowed, not required.
			if !slices.Contains(rxIndexed(t, s, addr, "INBOX"), rxBase(got[0])) {
				t.Errorf("%s: copy %s not indexed", addr, rxBase(got[0]))
			}
		}
		if got := rxFindSubject(t, rxUserDir(s, "dave@example.test"), "team meeting"); len(got) != 0 {
			t.Errorf("dave got a copy: %v", got)
		}
	})

	t.Run("disabled user", func(t *testing.T) {
		out, code := rxSwaks(t, s, "--from", "sender@example.org", "--to", "dave@example.test",
			"--header", "Subject: for dave")
		if code == 0 || !strings.Contains(out, "550 5.2.1") {
			t.Fatalf("disabled dave: exit %d, want 550 5.2.1 at RCPT:\n%s", code, out)
		}
		if got := rxFiles(t, rxUserDir(s, "dave@example.test")); len(got) != 0 {
			t.Fatalf("disabled dave has mail: %v", got)
		}
	})

	t.Run("catch-all", func(t *testing.T) {
		out, code := rxSwaks(t, s, "--from", "sender@example.org", "--to", "whoever@other.test",
			"--header", "Subject: caught")
		if code != 0 {
			t.Fatalf("swaks exit %d:\n%s", code, out)
		}
		if got := rxFindSubject(t, rxUserDir(s, "bob@example.test"), "caught"); len(got) != 1 {
			t.Fatalf("catch-all of other.test: want one file in bob's INBOX, got %v", got)
		}
	})

	t.Run("alias loop", func(t *testing.T) {
		out, code := rxSwaks(t, s, "--from", "sender@example.org", "--to", "loop1@example.test")
		if code == 0 || !strings.Contains(out, "550 5.4.6") {
			t.Fatalf("alias loop: exit %d, want 550 5.4.6 at RCPT:\n%s", code, out)
		}
	})

	// Every delivery above is in the index once and nothing else is.
	for _, u := range []string{"alice", "bob", "carol"} {
		rxCheckIndexMatches(t, s, u+"@example.test")
	}
	if n := len(rxFiles(t, alice)); n != 3 {
		t.Errorf("alice has %d messages, want 3 (hello, lists, team)", n)
	}
}

// TestReceiveRelayRefused is the classic open-relay test: a client outside
// trusted_networks may not send to another domain, but may still send to ours.
func TestReceiveRelayRefused(t *testing.T) {
	t.Parallel()
	// example.org publishes DMARC p=reject in the real DNS, which this test's client
	// does not pass; enforcing it is TestTrustDMARC's business, not this test's.
	s := NewServer(t, Options{SMTP: "trusted_networks = []", Extra: "[dmarc]\nenforce = false\n"})
	rxSetup(t, s, "alice")

	out, code := rxSwaks(t, s, "--from", "sender@example.org", "--to", "victim@gmail.com")
	if code == 0 || !strings.Contains(out, "554 5.7.1") {
		t.Fatalf("relay to victim@gmail.com: exit %d, want 554 5.7.1 at RCPT:\n%s", code, out)
	}
	// The refusal is at RCPT: swaks never got to DATA.
	if strings.Contains(out, "-> DATA") {
		t.Fatalf("the relay attempt reached DATA:\n%s", out)
	}
	out, code = rxSwaks(t, s, "--from", "sender@example.org", "--to", "alice@example.test", "--header", "Subject: from outside")
	if code != 0 {
		t.Fatalf("untrusted client to a local user: exit %d:\n%s", code, out)
	}
	if got := rxFindSubject(t, rxUserDir(s, "alice@example.test"), "from outside"); len(got) != 1 {
		t.Fatalf("alice: want one file, got %v", got)
	}
}

// TestReceiveOversizedThenNext: a message over message_size_limit gets 552 and the same
// session goes on to deliver the next one.
func TestReceiveOversizedThenNext(t *testing.T) {
	t.Parallel()
	s := NewServer(t, Options{SMTP: "message_size_limit = 10000"})
	rxSetup(t, s, "alice")
	c := rxDialSMTP(t, s)
	if msg := c.expect(250, "EHLO client.example.org"); !strings.Contains(msg, "SIZE 10000") {
		t.Errorf("EHLO does not announce SIZE 10000: %q", msg)
	}
	big := rxMessage("too big", "big@example.org", strings.Repeat(strings.Repeat("x", 76)+"\r\n", 300))
	_, code, msg := c.send("sender@example.org", []string{"alice@example.test"}, big)
	if code != 552 || !strings.HasPrefix(msg, "5.3.4") {
		t.Fatalf("oversized message: %d %s, want 552 5.3.4", code, msg)
	}
	_, code, msg = c.send("sender@example.org", []string{"alice@example.test"}, rxMessage("small", "small@example.org", "fits\r\n"))
	if code != 250 {
		t.Fatalf("the next message in the same session: %d %s, want 250", code, msg)
	}
	c.quit()
	alice := rxUserDir(s, "alice@example.test")
	if got := rxFindSubject(t, alice, "small"); len(got) != 1 {
		t.Fatalf("want the small message once, got %v", got)
	}
	if got := rxFiles(t, alice); len(got) != 1 {
		t.Fatalf("want only the small message in alice's Maildir, got %v", got)
	}
	rxCheckIndexMatches(t, s, "alice@example.test")
}

// TestReceiveSmuggling sends the SMTP smuggling sequences raw: the message holding them is
// refused, and the message hidden after them is never delivered.
func TestReceiveSmuggling(t *testing.T) {
	t.Parallel()
	s := NewServer(t, Options{})
	rxSetup(t, s, "alice")
	alice := rxUserDir(s, "alice@example.test")
	smuggled := "MAIL FROM:<admin@example.org>\r\nRCPT TO:<alice@example.test>\r\nDATA\r\n" +
		"From: admin@example.org\r\nSubject: smuggled\r\n\r\nsend money\r\n"
	for _, tc := range []struct{ name, end string }{
		{"LF.LF", "\n.\n"},
		{"CR.CR", "\r.\r"},
		{"LF.CRLF", "\n.\r\n"},
		{"CRLF.CR", "\r\n.\r"},
		{"CR.CRLF", "\r.\r\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := rxDialSMTP(t, s)
			c.expect(250, "EHLO client.example.org")
			c.expect(250, "MAIL FROM:<sender@example.org>")
			c.expect(250, "RCPT TO:<alice@example.test>")
			c.expect(354, "DATA")
			c.raw("From: sender@example.org\r\nSubject: carrier " + tc.name + "\r\n\r\nhello" + tc.end + smuggled + ".\r\n")
			code, msg := c.reply()
			if code/100 != 5 {
				t.Fatalf("DATA with %q: %d %s, want a 5xx refusal", tc.end, code, msg)
			}
			// The session is in step: the next command gets its own reply, and QUIT's
			// 221 is all that is left.
			c.expect(250, "NOOP")
			c.quit()
		})
	}
	// A control: an ordinary message, dot-stuffed line included, still gets through.
	c := rxDialSMTP(t, s)
	c.expect(250, "EHLO client.example.org")
	_, code, msg := c.send("sender@example.org", []string{"alice@example.test"}, rxMessage("control", "control@example.org", "..leading dot\r\n"))
	if code != 250 {
		t.Fatalf("control message: %d %s", code, msg)
	}
	c.quit()
	if got := rxFindSubject(t, alice, "smuggled"); len(got) != 0 {
		t.Fatalf("a smuggled message was delivered: %v", got)
	}
	files := rxFiles(t, alice)
	if len(files) != 1 || len(rxFindSubject(t, alice, "control")) != 1 {
		t.Fatalf("want only the control message in alice's Maildir, got %v", files)
	}
	data, err := os.ReadFile(files[0])
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(data), "\r\n.leading dot\r\n") && !strings.Contains(string(data), "\n.leading dot\n") {
		t.Errorf("dot-stuffing not undone in the stored control message:\n%s", data)
	}
}

// TestReceiveLMTP: one LMTP transaction, three recipients: one unknown (refused at RCPT),
// two accepted, of which one fails at delivery (over quota). After the text, one reply
// per accepted recipient, in RCPT order (RFC 2033 section 4.2).
func TestReceiveLMTP(t *testing.T) {
	t.Parallel()
	s := NewServer(t, Options{})
	rxSetup(t, s, "alice", "bob")
	s.MustCLI("user", "quota", "bob@example.test", "1")

	c := rxDialLMTP(t, s)
	c.expect(250, "LHLO mta.example.test")
	c.expect(250, "MAIL FROM:<sender@example.org>")
	c.expect(250, "RCPT TO:<alice@example.test>")
	if code, msg := c.cmd("RCPT TO:<nobody@example.test>"); code != 550 || !strings.HasPrefix(msg, "5.1.1") {
		t.Fatalf("RCPT nobody: %d %s, want 550 5.1.1", code, msg)
	}
	c.expect(250, "RCPT TO:<bob@example.test>")
	c.expect(354, "DATA")
	c.raw(rxMessage("over lmtp", "lmtp@example.org", "hello\r\n") + ".\r\n")
	if code, msg := c.reply(); code != 250 || !strings.Contains(msg, "alice@example.test") {
		t.Errorf("first reply after DATA (alice): %d %s, want 250 naming alice", code, msg)
	}
	if code, msg := c.reply(); code != 452 || !strings.HasPrefix(msg, "4.2.2") {
		t.Errorf("second reply after DATA (bob, over quota): %d %s, want 452 4.2.2", code, msg)
	}
	// No third reply is pending: the next command's reply is the next thing read.
	c.expect(250, "RSET")
	c.quit()

	if got := rxFindSubject(t, rxUserDir(s, "alice@example.test"), "over lmtp"); len(got) != 1 {
		t.Fatalf("alice: want one file, got %v", got)
	}
	if got := rxFiles(t, rxUserDir(s, "bob@example.test")); len(got) != 0 {
		t.Fatalf("bob (over quota) got mail: %v", got)
	}
	rxCheckIndexMatches(t, s, "alice@example.test")
}

// rxLogfmt splits one logfmt line into its keys and values.
func rxLogfmt(line string) map[string]string {
	out := map[string]string{}
	for i := 0; i < len(line); {
		for i < len(line) && line[i] == ' ' {
			i++
		}
		eq := strings.IndexByte(line[i:], '=')
		if eq < 0 {
			break
		}
		key := line[i : i+eq]
		i += eq + 1
		var val string
		if i < len(line) && line[i] == '"' {
			j := i + 1
			var b strings.Builder
			for j < len(line) && line[j] != '"' {
				if line[j] == '\\' && j+1 < len(line) {
					j++
				}
				b.WriteByte(line[j])
				j++
			}
			val, i = b.String(), j+1
		} else {
			j := strings.IndexByte(line[i:], ' ')
			if j < 0 {
				j = len(line) - i
			}
			val, i = line[i:i+j], i+j
		}
		out[key] = val
	}
	return out
}

// rxEvents returns the parsed log lines whose message is msg.
func rxEvents(s *Server, msg string) []map[string]string {
	var out []map[string]string
	for _, l := range s.Log() {
		if kv := rxLogfmt(l); kv["msg"] == msg {
			out = append(out, kv)
		}
	}
	return out
}

// TestReceiveMailLog: the delivered and reject lines carry the keys grep and fail2ban
// rely on (smtp/log.go), with the right values, and the same sid as the session's
// connect line.
func TestReceiveMailLog(t *testing.T) {
	t.Parallel()
	s := NewServer(t, Options{})
	rxSetup(t, s, "alice")
	c := rxDialSMTP(t, s)
	c.expect(250, "EHLO client.example.org")
	codes, code, msg := c.send("sender@example.org", []string{"nobody@example.test", "alice@example.test"}, rxMessage("logged", "log@example.org", "hi\r\n"))
	if !slices.Equal(codes, []int{550, 250}) || code != 250 {
		t.Fatalf("RCPT codes %v, DATA %d %s", codes, code, msg)
	}
	c.quit()
	// Stopping the server drains its log pipe: every line it wrote is in s.Log().
	if _, err := s.Signal(syscall.SIGTERM, 10*time.Second); err != nil {
		t.Fatal(err)
	}

	connects := rxEvents(s, "connect")
	if len(connects) != 1 {
		t.Fatalf("want one connect line, got %v", connects)
	}
	sid := connects[0]["sid"]
	if sid == "" {
		t.Fatalf("connect line has no sid: %v", connects[0])
	}
	delivered := rxEvents(s, "delivered")
	if len(delivered) != 1 {
		t.Fatalf("want one delivered line, got %v", delivered)
	}
	want := map[string]string{"sid": sid, "client": "127.0.0.1", "from": "sender@example.org",
		"to": "alice@example.test", "status": "delivered"}
	for k, v := range want {
		if delivered[0][k] != v {
			t.Errorf("delivered line: %s=%q, want %q (%v)", k, delivered[0][k], v, delivered[0])
		}
	}
	for _, k := range []string{"size", "delay"} {
		if delivered[0][k] == "" {
			t.Errorf("delivered line lacks %s: %v", k, delivered[0])
		}
	}
	var rcptRejects []map[string]string
	for _, r := range rxEvents(s, "reject") {
		if r["stage"] == "rcpt" {
			rcptRejects = append(rcptRejects, r)
		}
	}
	if len(rcptRejects) != 1 {
		t.Fatalf("want one rcpt reject line, got %v", rcptRejects)
	}
	want = map[string]string{"sid": sid, "client": "127.0.0.1", "from": "sender@example.org",
		"to": "nobody@example.test", "code": "550", "enhanced": "5.1.1"}
	for k, v := range want {
		if rcptRejects[0][k] != v {
			t.Errorf("reject line: %s=%q, want %q (%v)", k, rcptRejects[0][k], v, rcptRejects[0])
		}
	}
	if rcptRejects[0]["reason"] == "" {
		t.Errorf("reject line has no reason: %v", rcptRejects[0])
	}
}
