package integration

import (
	"fmt"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// pfSetupAlice adds example.test and alice to a running server and returns her Maildir
// (INBOX) path.
func pfSetupAlice(t *testing.T, s *Server) string {
	t.Helper()
	s.MustCLI("domain", "add", "example.test")
	if r := s.CLI("alice-Passw0rd-itest\n", "user", "add", "alice@example.test", "--password-stdin"); r.Code != 0 {
		t.Fatalf("user add: exit %d: %s %s", r.Code, r.Stdout, r.Stderr)
	}
	return filepath.Join(s.StateDir, "mail", "example.test", "alice")
}

// pfWaitDelivered waits until Postfix has logged n successful deliveries, its queue is
// empty and n files are in the Maildir. More files than sent is a failure at once: some
// message was delivered twice.
func pfWaitDelivered(t *testing.T, p *postfixPeer, maildir string, n int, within time.Duration) {
	t.Helper()
	start := time.Now()
	pfPollUntil(t, within, 100*time.Millisecond, func() (bool, string) {
		files := pfMaildirCount(maildir)
		if files > n {
			t.Fatalf("%d files in the Maildir for %d messages sent", files, n)
		}
		queued, err := p.QueueLen()
		if err != nil {
			t.Fatal(err)
		}
		sent := len(p.LogLines("status=sent"))
		state := fmt.Sprintf("%d/%d in the Maildir, %d logged sent by Postfix, %d still in its queue (%d deferrals logged)",
			files, n, sent, queued, len(p.LogLines("status=deferred")))
		return files == n && queued == 0 && sent == n, state
	})
	t.Logf("%d messages through Postfix into the Maildir in %v", n, time.Since(start).Round(time.Millisecond))
}

// pfCheckEveryMessage reads the Maildir and checks that message 0..n-1 of run are each
// there exactly once, addressed to alice, and that our Received header (the topmost)
// names the protocol the peer used (protocol is a regexp of RFC 3848 names: Postfix
// passes SMTPUTF8 on when its client asked for it, which makes ESMTPS UTF8SMTPS).
func pfCheckEveryMessage(t *testing.T, maildir, run string, n int, protocol string) {
	t.Helper()
	ourReceived := regexp.MustCompile(`^from relay\.client\.test (.* )?by mail\.example\.test with (` + protocol + `) id `)
	bad := 0
	errorf := func(format string, args ...any) {
		t.Helper()
		if bad++; bad <= 10 {
			t.Errorf(format, args...)
		}
	}
	byID, dups := pfReadMaildir(t, maildir)
	if len(dups) > 0 {
		t.Errorf("%d messages delivered more than once, e.g. %s", len(dups), dups[0])
	}
	if len(byID) != n {
		t.Errorf("%d distinct Message-IDs in the Maildir, want %d", len(byID), n)
	}
	for i := 0; i < n; i++ {
		m, ok := byID[pfMessageID(run, i)]
		if !ok {
			errorf("message %d (%s) never arrived", i, pfMessageID(run, i))
			continue
		}
		if got := m.Headers["delivered-to"]; got != "alice@example.test" {
			errorf("%s: Delivered-To %q", m.Path, got)
		}
		if got := m.Headers["return-path"]; got != "<sender@client.test>" {
			errorf("%s: Return-Path %q", m.Path, got)
		}
		if len(m.Received) < 2 {
			errorf("%s: %d Received headers, want ours on top of Postfix's", m.Path, len(m.Received))
			continue
		}
		if !ourReceived.MatchString(m.Received[0]) {
			errorf("%s: our Received header is %q; want it from relay.client.test with %s", m.Path, m.Received[0], protocol)
		}
		if !strings.Contains(m.Received[1], "by relay.client.test (Postfix)") {
			errorf("%s: second Received header %q is not Postfix's", m.Path, m.Received[1])
		}
	}
	if bad > 10 {
		t.Errorf("... %d problems in all", bad)
	}
}

// TestPostfixRelaysToSMTP: Postfix as the sending server on the internet, its relayhost
// our port 25 and STARTTLS opportunistic, takes 1,000 messages and hands every one of
// them to us; each lands in alice's Maildir exactly once, over TLS, and Postfix's queue
// ends empty (every message got a 250 it believed).
func TestPostfixRelaysToSMTP(t *testing.T) {
	t.Parallel()
	const n = 1000
	s := NewServer(t, Options{})
	maildir := pfSetupAlice(t, s)
	p := startPostfix(t, postfixOptions{Main: []string{
		"relayhost = [" + strings.Replace(s.Addrs["smtp"], ":", "]:", 1),
		"smtp_tls_security_level = may",
		"smtp_tls_loglevel = 1",
	}})

	run := fmt.Sprintf("smtp%d", time.Now().UnixNano())
	pfSendBatch(t, p.Addr, run, "sender@client.test", "alice@example.test", n, 10)
	pfWaitDelivered(t, p, maildir, n, 4*time.Minute)
	pfCheckEveryMessage(t, maildir, run, n, "ESMTPS|UTF8SMTPS")

	if tls := p.LogLines("TLS connection established to 127.0.0.1"); len(tls) == 0 {
		t.Error("Postfix never logged a TLS connection to us: STARTTLS was not used")
	}
	if bounced := p.LogLines("status=bounced"); len(bounced) > 0 {
		t.Errorf("Postfix bounced %d messages, e.g. %s", len(bounced), bounced[0])
	}
}

// TestPostfixDeliversOverLMTP: Postfix with virtual_transport pointing at our LMTP socket
// delivers a batch; every message arrives once, received with LMTP.
func TestPostfixDeliversOverLMTP(t *testing.T) {
	t.Parallel()
	const n = 100
	s := NewServer(t, Options{})
	maildir := pfSetupAlice(t, s)
	sock, ok := strings.CutPrefix(s.Addrs["lmtp"], "unix:")
	if !ok {
		t.Fatalf("lmtp listener is %q, want a unix socket", s.Addrs["lmtp"])
	}
	// Postfix's lmtp client runs as the postfix user: the socket is 0660, so give it
	// Postfix's group the way packaging would.
	needPostfix(t)
	pfChownGroup(t, sock, "postfix")
	p := startPostfix(t, postfixOptions{Main: []string{
		"virtual_mailbox_domains = example.test",
		"virtual_transport = lmtp:unix:" + sock,
	}})

	run := fmt.Sprintf("lmtp%d", time.Now().UnixNano())
	pfSendBatch(t, p.Addr, run, "sender@client.test", "alice@example.test", n, 5)
	pfWaitDelivered(t, p, maildir, n, 2*time.Minute)
	pfCheckEveryMessage(t, maildir, run, n, "LMTP|UTF8LMTP")
	// Postfix names the socket it delivered through in each status=sent line.
	through := 0
	for _, line := range p.LogLines(sock) {
		if strings.Contains(line, "status=sent") {
			through++
		}
	}
	if through != n {
		t.Errorf("Postfix logged %d deliveries through our LMTP socket, want %d", through, n)
	}
}
