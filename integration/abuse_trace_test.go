package integration

import (
	"fmt"
	"net"
	"net/textproto"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// TestAbuseTraceFlood: a stranger cannot fill the disk through the trace. Hundreds of
// port-25 sessions, each refused recipients under long unique addresses (every one a
// trace event and an index key), against [trace] max_size of 1 MiB: what is kept stays
// under max_size, postern.db with its WAL stays within a small multiple of it, the oldest
// sessions go first while the newest message's story is still told, drops (if any) are
// counted in the metrics, real mail is delivered, and the daemon lives within its budget.
func TestAbuseTraceFlood(t *testing.T) {
	t.Parallel()
	const maxSize = 1 << 20
	s := NewServer(t, Options{NoStart: true, Extra: fmt.Sprintf("[trace]\nmax_size = %d\n", maxSize)})
	withListen(t, s, map[string]string{"metrics": "127.0.0.1:0"})
	rxSetup(t, s, "alice")
	idle := memPeakKiB(t, s)

	const sessions, workers, cycles = 600, 8, 3
	long := strings.Repeat("x", 48) // local parts stay within RFC 5321's 64 octets
	var next, refused, failed atomic.Int64
	var wg sync.WaitGroup
	deadline := time.Now().Add(2 * time.Minute)
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for time.Now().Before(deadline) {
				n := next.Add(1)
				if n > sessions {
					return
				}
				r, err := traceFloodSession(s.Addrs["smtp"], n, long, cycles)
				if err != nil {
					failed.Add(1)
					continue
				}
				refused.Add(int64(r))
			}
		}()
	}
	wg.Wait()
	t.Logf("%d sessions, %d recipients refused, %d sessions cut short", min(next.Load(), sessions), refused.Load(), failed.Load())
	if refused.Load() < sessions*cycles/2 {
		t.Fatalf("only %d of %d unknown recipients were refused: the flood did not reach the trace", refused.Load(), sessions*cycles)
	}

	// The newest message's story is told after the flood.
	if out, code := rxSwaks(t, s, "--from", "sender@example.org", "--to", "alice@example.test",
		"--header", "Subject: after the flood", "--header", "Message-Id: <after-flood@example.org>"); code != 0 {
		t.Fatalf("swaks after the flood: %d\n%s", code, out)
	}
	waitSubjects(t, rxUserDir(s, "alice@example.test"), "after the flood")
	var story string
	for until := time.Now().Add(20 * time.Second); ; {
		story = s.MustCLI("trace", "--message-id", "<after-flood@example.org>")
		if strings.Contains(story, "mailbox=alice@example.test") {
			break
		}
		if time.Now().After(until) {
			t.Fatalf("the message after the flood has no story:\n%s", story)
		}
	}
	// The oldest sessions went first; the newest are told.
	if out := s.MustCLI("trace", "--address", traceFloodAddr(sessions, 0, long)); !strings.Contains(out, "reject") {
		t.Errorf("the last flood session is not in the trace:\n%.500s", out)
	}
	if out := s.MustCLI("trace", "--address", traceFloodAddr(1, 0, long)); out != "no message matches\n" {
		t.Errorf("the first flood session is still kept past max_size:\n%.500s", out)
	}

	m := scrape(t, s)
	stored, ok := m["postern_trace_stored_bytes"]
	if !ok {
		t.Fatal("postern_trace_stored_bytes missing from /metrics")
	}
	if _, ok := m["postern_trace_events_dropped_total"]; !ok {
		t.Error("postern_trace_events_dropped_total missing from /metrics")
	}
	t.Logf("trace kept %.0f bytes (max_size %d), %.0f events dropped", stored, maxSize, m["postern_trace_events_dropped_total"])
	if stored > maxSize || stored < maxSize/4 {
		t.Errorf("trace keeps %.0f bytes, want between a quarter of max_size and max_size (%d)", stored, maxSize)
	}
	var disk int64
	for _, f := range []string{"postern.db", "postern.db-wal"} {
		if fi, err := os.Stat(filepath.Join(s.StateDir, f)); err == nil {
			disk += fi.Size()
		}
	}
	t.Logf("postern.db with its WAL: %d KiB", disk>>10)
	if disk > 16*maxSize {
		t.Errorf("postern.db with its WAL is %d KiB after the flood, past 16 x max_size", disk>>10)
	}
	peak := memPeakKiB(t, s)
	t.Logf("VmHWM idle %d KiB, after the flood %d KiB", idle, peak)
	if peak-idle > 64<<10 {
		t.Errorf("peak RSS grew by %d KiB during the flood, want under 64 MiB", peak-idle)
	}
	if !s.Running() {
		t.Fatal("the daemon died")
	}
}

// traceFloodAddr is the n-th session's i-th refused recipient.
func traceFloodAddr(n int64, i int, long string) string {
	return fmt.Sprintf("%s-%d-%d@example.test", long, n, i)
}

// traceFloodSession runs one attacker session: cycles transactions, each a long unique
// sender and an unknown recipient, and returns how many recipients were refused. It
// returns errors instead of failing the test (it runs on its own goroutine).
func traceFloodSession(addr string, n int64, long string, cycles int) (int, error) {
	nc, err := net.DialTimeout("tcp", addr, 10*time.Second)
	if err != nil {
		return 0, err
	}
	defer nc.Close()
	if err := nc.SetDeadline(time.Now().Add(30 * time.Second)); err != nil {
		return 0, err
	}
	c := textproto.NewConn(nc)
	if _, _, err := c.ReadResponse(220); err != nil {
		return 0, err
	}
	step := func(want int, format string, args ...any) (int, error) {
		id, err := c.Cmd(format, args...)
		if err != nil {
			return 0, err
		}
		c.StartResponse(id)
		defer c.EndResponse(id)
		code, _, err := c.ReadResponse(0)
		if err == nil && want != 0 && code != want {
			err = fmt.Errorf("%s: %d, want %d", fmt.Sprintf(format, args...), code, want)
		}
		return code, err
	}
	if _, err := step(250, "EHLO flood-%d.%s.example.org", n, long); err != nil {
		return 0, err
	}
	refused := 0
	for i := range cycles {
		if _, err := step(250, "MAIL FROM:<s%d-%d-%s@%s.example.org>", n, i, long, long); err != nil {
			return refused, err
		}
		code, err := step(0, "RCPT TO:<%s>", traceFloodAddr(n, i, long))
		if err != nil {
			return refused, err
		}
		if code >= 500 {
			refused++
		}
		if _, err := step(250, "RSET"); err != nil {
			return refused, err
		}
	}
	_, err = step(221, "QUIT")
	return refused, err
}
