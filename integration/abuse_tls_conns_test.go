package integration

import (
	"bufio"
	"io"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// The connection-limit attacks of issue 14 on the listeners abuse_conns_test.go does
// not flood: submission on 587 and the implicit-TLS ones, 465 and 993, where the
// refusal itself must be spoken over TLS. And the slow-loris client that connects and
// says nothing (or never finishes the TLS handshake): login_timeout closes it.

func TestAbuseSubmissionFlood(t *testing.T) {
	t.Parallel()
	s := abuseServer(t, "")
	before := daemonHWM(t, s)
	greeted, refused := flood(t, s.Addrs["submission"], 200, "220 ", "421 4.7.0")
	if greeted > 10 || refused < 190 {
		t.Fatalf("587: 200 connections from one address: %d greeted, %d refused; want at most 10 greeted", greeted, refused)
	}
	t.Logf("587 flood: %d greeted, %d refused", greeted, refused)
	c := dialFrom(t, ownerIP, s.Addrs["submission"])
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	if l, _ := bufio.NewReader(c).ReadString('\n'); !strings.HasPrefix(l, "220 ") {
		t.Fatalf("another network's banner on 587 during the flood: %q", l)
	}
	afterFlood(t, s, before)
}

func TestAbuseImplicitTLSFloods(t *testing.T) {
	t.Parallel()
	s := abuseServer(t, "")
	before := daemonHWM(t, s)
	for _, l := range []struct {
		name, greet, refuse string
		most                int
	}{
		{"submissions", "220 ", "421 4.7.0", 10},
		{"imaps", "* OK", "* BYE", 20},
	} {
		greeted, refused := floodTLS(t, s.Addrs[l.name], 200, l.greet, l.refuse)
		if greeted > l.most || refused < 200-l.most {
			t.Fatalf("%s: 200 TLS connections from one address: %d greeted, %d refused; want at most %d greeted",
				l.name, greeted, refused, l.most)
		}
		t.Logf("%s flood: %d greeted, %d refused (the refusal spoken over TLS)", l.name, greeted, refused)
	}
	if r := imapsLogin(t, s, ownerIP, "alice@example.test", strings.TrimSpace(rxPassword)); !strings.HasPrefix(r, "a1 OK") {
		t.Fatalf("the owner's login on 993 during the floods: %q", r)
	}
	afterFlood(t, s, before)
}

// TestAbuseSilentClientsTimedOut: a client that connects and sends nothing, on a
// plain listener or before its TLS handshake, is closed after login_timeout, so a
// slow-loris attacker cannot keep the per-network slots.
func TestAbuseSilentClientsTimedOut(t *testing.T) {
	t.Parallel()
	s := abuseServer(t, "[limits.submission]\nlogin_timeout = \"2s\"\n[limits.imap]\nlogin_timeout = \"2s\"\n"+
		"[limits.managesieve]\nlogin_timeout = \"2s\"\n")
	for _, name := range []string{"submission", "submissions", "imap", "imaps", "managesieve"} {
		c := dialFrom(t, "127.0.0.1", s.Addrs[name])
		start := time.Now()
		c.SetReadDeadline(start.Add(20 * time.Second))
		// Read what the server says (nothing before a TLS handshake) until it closes.
		_, err := io.Copy(io.Discard, c)
		took := time.Since(start)
		if err != nil {
			t.Fatalf("%s: the silent client was not closed within 20 s: %v", name, err)
		}
		if took < 1500*time.Millisecond {
			t.Fatalf("%s: closed after %v, before the 2 s login_timeout", name, took)
		}
		t.Logf("%s: a silent client closed after %v", name, took.Round(10*time.Millisecond))
	}
	if !s.Running() {
		t.Fatal("daemon died")
	}
}

// TestAbuseSilentTLSRefusals: 2,000 connections from one address to 465 that never
// start their TLS handshake. All but the 10 admitted ones are refused, and a refusal
// on 465 is spoken over TLS, so each would wait for a handshake that never comes: the
// refusal writers are bounded (64, 2 s each), so every refused connection is closed
// within a few seconds and the daemon's peak RSS barely moves.
func TestAbuseSilentTLSRefusals(t *testing.T) {
	t.Parallel()
	s := abuseServer(t, "")
	before := daemonHWM(t, s)
	const n = 2000
	conns := make([]net.Conn, 0, n)
	for range n {
		conns = append(conns, dialFrom(t, "127.0.0.1", s.Addrs["submissions"]))
	}
	// Each read waits on its own: a past deadline would fail a read at once.
	dialed := time.Now()
	var closed atomic.Int32
	var wg sync.WaitGroup
	for _, c := range conns {
		wg.Go(func() {
			c.SetReadDeadline(dialed.Add(6 * time.Second))
			if _, err := c.Read(make([]byte, 1)); err == io.EOF {
				closed.Add(1)
			}
		})
	}
	wg.Wait()
	t.Logf("%d silent TLS clients on 465: %d closed by the server within 6 s of the last connect", n, closed.Load())
	if closed.Load() < n-10 {
		t.Errorf("only %d of the %d refused silent clients were closed within 6 s", closed.Load(), n-10)
	}
	afterFlood(t, s, before)
}
