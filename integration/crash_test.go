package integration

import (
	"context"
	"fmt"
	"net"
	"net/textproto"
	"os"
	"os/exec"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// This file checks the first rule of docs/ARCHITECTURE.md (Durability), "nothing is
// acknowledged that is not on disk",
// the way issue 3 says: kill -9 in the middle of a load, restart, and every message that
// got a 250 is in the Maildir and in the index exactly once, and the index matches the
// files. Postfix's smtp-source cannot say which messages got a 250, so the killed load is
// driven by our own SMTP sessions; smtp-source drives the load that is not interrupted.

const (
	crashMessages = 2000
	crashSessions = 10
	crashBody     = 4096 // octets of text per message, like smtp-source -l 4096
)

// crashMsgID is message n's unique Message-ID (without the angle brackets).
func crashMsgID(n int) string { return fmt.Sprintf("crash-%04d@load.example.org", n) }

// crashText is message n: a unique Message-ID and Subject and crashBody octets of text
// in 64-octet lines.
func crashText(n int) string {
	line := strings.Repeat("x", 62) + "\r\n"
	return rxMessage(fmt.Sprintf("load %04d", n), crashMsgID(n), strings.Repeat(line, crashBody/len(line)))
}

// crashLoad is the load's bookkeeping: which messages got a 250.
type crashLoad struct {
	mu     sync.Mutex
	acked  map[string]bool // Message-IDs answered 250
	nAcked atomic.Int64
	killAt int64
	reach  chan struct{} // closed when nAcked reaches killAt
	once   sync.Once
}

func (l *crashLoad) ack(id string) {
	l.mu.Lock()
	l.acked[id] = true
	l.mu.Unlock()
	if l.nAcked.Add(1) == l.killAt {
		l.once.Do(func() { close(l.reach) })
	}
}

// session sends messages first, first+step, ... over one SMTP connection until they are
// done or the connection fails (the server was killed). A message counts only when its
// final reply is 250; anything else ends the session, since after a kill nothing more
// can be acknowledged.
func (l *crashLoad) session(addr string, first, step int, errs chan<- error) {
	c, err := net.DialTimeout("tcp", addr, 10*time.Second)
	if err != nil {
		errs <- err
		return
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(5 * time.Minute))
	tp := textproto.NewConn(c)
	step1 := func(want int, format string, args ...any) error {
		if format != "" {
			if err := tp.PrintfLine(format, args...); err != nil {
				return err
			}
		}
		code, msg, err := tp.ReadResponse(0)
		if err != nil {
			return err
		}
		if code != want {
			return fmt.Errorf("%q: %d %s", format, code, msg)
		}
		return nil
	}
	if err := step1(220, ""); err != nil {
		errs <- err
		return
	}
	if err := step1(250, "EHLO load.example.org"); err != nil {
		errs <- err
		return
	}
	for n := first; n < crashMessages; n += step {
		for _, s := range []struct {
			want int
			cmd  string
		}{{250, "MAIL FROM:<sender@example.org>"}, {250, "RCPT TO:<alice@example.test>"}, {354, "DATA"}} {
			if err := step1(s.want, "%s", s.cmd); err != nil {
				errs <- err
				return
			}
		}
		if _, err := c.Write([]byte(crashText(n) + ".\r\n")); err != nil {
			errs <- err
			return
		}
		if err := step1(250, ""); err != nil {
			errs <- err
			return
		}
		l.ack(crashMsgID(n))
	}
	errs <- nil
}

// TestCrashKill9MidLoad: 2,000 messages over 10 sessions, kill -9 once 600 have been
// acknowledged, restart on the same state dir, then compare what was acknowledged with
// the Maildir and the index.
func TestCrashKill9MidLoad(t *testing.T) {
	t.Parallel()
	s := NewServer(t, Options{})
	rxSetup(t, s, "alice")
	load := &crashLoad{acked: map[string]bool{}, killAt: 600, reach: make(chan struct{})}
	errs := make(chan error, crashSessions)
	for i := 0; i < crashSessions; i++ {
		go load.session(s.Addrs["smtp"], i, crashSessions, errs)
	}
	finished := 0
	var sessionErrs []error
	select {
	case <-load.reach:
	case err := <-errs:
		// A session ending before the kill is a failure of the server, not of the crash.
		t.Fatalf("a load session ended before the kill (%d acknowledged): %v", load.nAcked.Load(), err)
	}
	s.Kill()
	for finished < crashSessions {
		if err := <-errs; err != nil {
			sessionErrs = append(sessionErrs, err)
		}
		finished++
	}
	load.mu.Lock()
	acked := load.acked
	load.mu.Unlock()
	t.Logf("killed after %d acknowledgements; %d sessions saw the connection fail", len(acked), len(sessionErrs))
	if len(acked) >= crashMessages {
		t.Fatal("the whole load finished before the kill: nothing was tested")
	}

	// What the dead server's index says: the highest UID it gave, and how far it may have
	// given UIDs in commits that were not yet on disk (store.IndexDeliveries).
	maxUID, ceiling := crashUIDs(t, s)
	if ceiling <= maxUID {
		t.Fatalf("uid_ceiling %d is not above the highest UID given, %d", ceiling, maxUID)
	}

	s.Start()
	alice := rxUserDir(s, "alice@example.test")
	seen := map[string]int{}
	for _, p := range rxFiles(t, alice) {
		ids := rxHeader(t, p)["message-id"]
		if len(ids) != 1 {
			t.Errorf("%s has Message-ID %q", p, ids)
			continue
		}
		seen[strings.Trim(ids[0], "<>")]++
	}
	for id, n := range seen {
		if n > 1 {
			t.Errorf("%s is in the Maildir %d times", id, n)
		}
	}
	lost := 0
	for id := range acked {
		if seen[id] != 1 {
			lost++
			if lost <= 10 {
				t.Errorf("acknowledged message %s is in the Maildir %d times, want once", id, seen[id])
			}
		}
	}
	if lost > 0 {
		t.Errorf("%d of %d acknowledged messages are not in the Maildir exactly once", lost, len(acked))
	}
	t.Logf("%d messages in the Maildir, %d acknowledged", len(seen), len(acked))
	// The index names each file once and nothing else, so every acknowledged message is
	// also in the index exactly once.
	rxCheckIndexMatches(t, s, "alice@example.test")

	// The restarted server goes on receiving, and indexes what it receives.
	c := rxDialSMTP(t, s)
	c.expect(250, "EHLO client.example.org")
	if _, code, msg := c.send("sender@example.org", []string{"alice@example.test"}, crashText(crashMessages)); code != 250 {
		t.Fatalf("delivery after the restart: %d %s", code, msg)
	}
	c.quit()
	if got := rxFindSubject(t, alice, fmt.Sprintf("load %04d", crashMessages)); len(got) != 1 {
		t.Fatalf("the message after the restart: %v", got)
	}
	rxCheckIndexMatches(t, s, "alice@example.test")
	// The recovery moved UIDNEXT to the ceiling before anything was indexed again: no UID
	// handed out before the crash, even by a commit a power loss would have undone, is
	// given again.
	if after, _ := crashUIDs(t, s); after < ceiling {
		t.Errorf("the message after the restart got UID %d, below the ceiling %d of the crashed run", after, ceiling)
	}
}

// crashUIDs returns the highest UID in alice's INBOX and its uid_ceiling.
func crashUIDs(t *testing.T, s *Server) (maxUID, ceiling int64) {
	t.Helper()
	db := rxOpenIndex(t, s)
	err := db.QueryRow(`SELECT COALESCE((SELECT MAX(uid) FROM messages WHERE mailbox_id = b.id), 0), b.uid_ceiling
		FROM mailboxes b WHERE b.user = 'alice@example.test' AND b.name = 'INBOX'`).Scan(&maxUID, &ceiling)
	if err != nil {
		t.Fatalf("reading the index: %v", err)
	}
	return maxUID, ceiling
}

// TestSMTPSourceLoad: Postfix's smtp-source sends 2,000 messages of 4 KiB over 10
// parallel sessions; when nothing is killed, every one arrives, once, and is indexed.
func TestSMTPSourceLoad(t *testing.T) {
	t.Parallel()
	src := needTool(t, "smtp-source")
	s := NewServer(t, Options{})
	rxSetup(t, s, "alice")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, src, "-s", fmt.Sprint(crashSessions), "-m", fmt.Sprint(crashMessages),
		"-l", fmt.Sprint(crashBody), "-M", "load.example.org", "-f", "sender@example.org",
		"-t", "alice@example.test", s.Addrs["smtp"])
	start := time.Now()
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("smtp-source: %v\n%s", err, out)
	}
	took := time.Since(start)
	t.Logf("smtp-source: %d messages in %v (%.0f msgs/s)", crashMessages, took, float64(crashMessages)/took.Seconds())

	files := rxFiles(t, rxUserDir(s, "alice@example.test"))
	if len(files) != crashMessages {
		t.Fatalf("alice has %d messages, want %d", len(files), crashMessages)
	}
	if n := len(rxIndexed(t, s, "alice@example.test", "INBOX")); n != crashMessages {
		t.Fatalf("alice's index has %d messages, want %d", n, crashMessages)
	}
	rxCheckIndexMatches(t, s, "alice@example.test")
	// smtp-source's messages carry no Message-ID; each file must still be a whole
	// message: our headers, then a body of the length sent.
	for _, p := range files[:10] {
		data, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(string(data), "Return-Path: <sender@example.org>") || len(data) < crashBody {
			t.Fatalf("%s: %d octets, starting %q", p, len(data), data[:min(len(data), 80)])
		}
	}
}
