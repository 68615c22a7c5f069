package integration

import (
	"bufio"
	"crypto/tls"
	"encoding/base64"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// Issue 14 item 5 (and item 4's rule for auto-replies): a user cannot make the vacation
// responder speak as another user, nor put a header of their own into the reply, and the
// responder does not answer a sender SPF refutes.

// vacationZone: good.example lists the client (SPF pass), spoofed.example does not
// (SPF fail, no DMARC record); nospf.example publishes nothing (SPF none).
var vacationZone = []string{
	`good.example. 60 IN TXT "v=spf1 ip4:127.0.0.1 -all"`,
	`spoofed.example. 60 IN TXT "v=spf1 ip4:192.0.2.1 -all"`,
}

// manageSievePut logs in over ManageSieve (STARTTLS, PLAIN) and sends CHECKSCRIPT and
// PUTSCRIPT with src; it returns the last line of each answer.
func manageSievePut(t *testing.T, s *Server, user, name, src string) (check, put string) {
	t.Helper()
	c, err := net.DialTimeout("tcp", s.Addrs["managesieve"], 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(60 * time.Second))
	var conn net.Conn = c
	r := bufio.NewReader(conn)
	resp := func() string {
		t.Helper()
		var all []string
		for {
			l, err := r.ReadString('\n')
			if err != nil {
				t.Fatalf("managesieve: %v after %q", err, all)
			}
			l = strings.TrimRight(l, "\r\n")
			all = append(all, l)
			if strings.HasPrefix(l, "OK") || strings.HasPrefix(l, "NO") || strings.HasPrefix(l, "BYE") {
				return strings.Join(all, " ")
			}
		}
	}
	cmd := func(line string) string {
		t.Helper()
		if _, err := fmt.Fprintf(conn, "%s\r\n", line); err != nil {
			t.Fatal(err)
		}
		return resp()
	}
	resp()
	if got := cmd("STARTTLS"); !strings.HasPrefix(got, "OK") {
		t.Fatalf("STARTTLS: %s", got)
	}
	tc := tls.Client(c, &tls.Config{InsecureSkipVerify: true})
	conn, r = tc, bufio.NewReader(tc)
	resp()
	auth := base64.StdEncoding.EncodeToString([]byte("\x00" + user + "\x00" + strings.TrimSpace(rxPassword)))
	if got := cmd(`AUTHENTICATE "PLAIN" "` + auth + `"`); !strings.HasPrefix(got, "OK") {
		t.Fatalf("AUTHENTICATE: %s", got)
	}
	check = cmd(fmt.Sprintf("CHECKSCRIPT {%d+}\r\n%s", len(src), src))
	put = cmd(fmt.Sprintf("PUTSCRIPT %q {%d+}\r\n%s", name, len(src), src))
	cmd("LOGOUT")
	return check, put
}

// TestAbuseVacationFrom: alice's script with :from "bob@example.test" is refused by
// `postern sieve put` and by ManageSieve CHECKSCRIPT/PUTSCRIPT with a clear error;
// her own +detail address is accepted. A :from and :subject built from variables
// (bob's address; a subject carrying CR LF and a Bcc field) get past the upload, and
// the reply the smart host receives is from alice, with the subject on one line and no
// Bcc. A sender whose SPF fails, or who has no SPF pass at all, gets no reply.
func TestAbuseVacationFrom(t *testing.T) {
	t.Parallel()
	st := newRelayStub(t, "starttls")
	st.Start()
	dnsSrv := startFakeDNS(t, false, vacationZone...)
	s := NewServer(t, Options{SMTP: "trusted_networks = []\n",
		Extra: st.RelayConfig(t, "", 0o400) + fmt.Sprintf("[dns]\nservers = [%q]\n", dnsSrv.Addr)})
	rxSetup(t, s, "alice", "bob")
	dir := t.TempDir()
	write := func(name, src string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}

	asBob := "require \"vacation\";\r\nvacation :from \"bob@example.test\" \"I am away.\";\r\n"
	r := s.CLI("", "sieve", "put", "alice@example.test", "asbob", write("asbob.sieve", asBob))
	if r.Code == 0 || !strings.Contains(r.Stderr, "vacation :from") || !strings.Contains(r.Stderr, "not an address of alice@example.test") {
		t.Errorf("postern sieve put with bob's :from: exit %d, stderr %q; want refused naming the rule", r.Code, r.Stderr)
	}
	check, put := manageSievePut(t, s, "alice@example.test", "asbob", asBob)
	for cmd, got := range map[string]string{"CHECKSCRIPT": check, "PUTSCRIPT": put} {
		if !strings.HasPrefix(got, "NO") || !strings.Contains(got, "not an address of alice@example.test") {
			t.Errorf("ManageSieve %s with bob's :from: %q; want NO naming the rule", cmd, got)
		}
	}
	if out := s.MustCLI("sieve", "list", "alice@example.test"); strings.Contains(out, "asbob") {
		t.Errorf("the refused script was stored:\n%s", out)
	}
	own := "require \"vacation\";\r\nvacation :from \"alice+away@example.test\" \"I am away.\";\r\n"
	if check, put := manageSievePut(t, s, "alice@example.test", "own", own); !strings.HasPrefix(check, "OK") || !strings.HasPrefix(put, "OK") {
		t.Errorf("her own +detail :from refused: %q %q", check, put)
	}

	// Variables: the upload cannot know; delivery replaces the :from and keeps the
	// subject one field.
	sneaky := "require [\"vacation\", \"variables\"];\r\n" +
		"set \"f\" \"bob@example.test\";\r\n" +
		"set \"s\" \"Away\r\nBcc: victim@example.org\r\nX-Injected: yes\";\r\n" +
		"vacation :days 1 :from \"${f}\" :subject \"${s}\" \"I am away until Monday.\";\r\n"
	s.MustCLI("sieve", "put", "alice@example.test", "sneaky", write("sneaky.sieve", sneaky))
	s.MustCLI("sieve", "activate", "alice@example.test", "sneaky")

	msg := func(from, subject string) string {
		return "From: " + from + "\r\nTo: alice@example.test\r\nSubject: " + subject + "\r\nMessage-ID: <" + subject +
			"@x.example>\r\nDate: Mon, 7 Dec 2026 10:00:00 +0000\r\n\r\nAre you there?\r\n"
	}
	if code, m := sendOne(t, s, "someone@spoofed.example", "alice@example.test", msg("someone@spoofed.example", "spoofed")); code != 250 {
		t.Fatalf("message from an SPF-failing sender: %d %s", code, m)
	}
	if code, m := sendOne(t, s, "someone@nospf.example", "alice@example.test", msg("someone@nospf.example", "unverified")); code != 250 {
		t.Fatalf("message from a sender without SPF: %d %s", code, m)
	}
	if code, m := sendOne(t, s, "friend@good.example", "alice@example.test", msg("friend@good.example", "real")); code != 250 {
		t.Fatalf("message from a verified sender: %d %s", code, m)
	}
	st.WaitFor(90*time.Second, "the vacation reply", func(ms []stubMessage) bool { return len(ms) >= 1 })
	waitQueueEmpty(t, s)
	ms := st.Messages()
	if len(ms) != 1 {
		for _, m := range ms {
			t.Logf("relayed to %v from <%s>: %q", m.RcptTos, m.MailFrom, m.Header.Get("Subject"))
		}
		t.Fatalf("the smart host got %d messages, want exactly one reply (to the verified sender)", len(ms))
	}
	reply := ms[0]
	if len(reply.RcptTos) != 1 || reply.RcptTos[0] != "friend@good.example" || strings.Trim(reply.MailFrom, "<>") != "" {
		t.Errorf("reply envelope: from %q to %v; want <> to friend@good.example only", reply.MailFrom, reply.RcptTos)
	}
	if got := reply.Header.Get("From"); got != "alice@example.test" {
		t.Errorf("reply From: %q, want alice@example.test (not bob)", got)
	}
	if got := reply.Header["Subject"]; len(got) != 1 || got[0] != "Away Bcc: victim@example.org X-Injected: yes" {
		t.Errorf("reply Subject: %q, want the one line the variable made", got)
	}
	for _, k := range []string{"Bcc", "X-Injected"} {
		if v, ok := reply.Header[k]; ok {
			t.Errorf("injected field %s: %q in\n%s", k, v, reply.Body)
		}
	}
	if got := reply.Header.Get("Auto-Submitted"); !strings.HasPrefix(got, "auto-replied") {
		t.Errorf("reply Auto-Submitted: %q", got)
	}
	var replaced, failed, unverified bool
	for _, l := range s.Log() {
		replaced = replaced || strings.Contains(l, "vacation :from is not the user's address") && strings.Contains(l, "bob@example.test")
		failed = failed || strings.Contains(l, "nothing sent on for a held message") && strings.Contains(l, "SPF fail for spoofed.example")
		unverified = unverified || strings.Contains(l, "vacation reply not sent") && strings.Contains(l, "someone@nospf.example")
	}
	if !replaced || !failed || !unverified {
		t.Errorf("log lines: :from replaced %v, no reply to the SPF-failing sender %v, none to the unverified one %v", replaced, failed, unverified)
	}
	if !s.Running() {
		t.Fatal("daemon died")
	}
}
