package localsubmit

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/postern/postern/server/deliver/delivertest"
)

// floodServer is a server without a deliverer (list and verify need none), perMinute
// requests a minute per uid.
func floodServer(t *testing.T, perMinute int) *Server {
	t.Helper()
	return floodServerLog(t, perMinute, delivertest.DiscardLog())
}

func floodServerLog(t *testing.T, perMinute int, log *slog.Logger) *Server {
	t.Helper()
	dir := t.TempDir()
	ls, err := New(Options{Hostname: "mail.example.test", MaxSize: 1 << 20, MaxRcpts: 3, PerUIDPerMinute: perMinute,
		PickupDir: filepath.Join(dir, "pickup"), MaildropDir: filepath.Join(dir, "maildrop"), SpoolDir: dir,
		Logger: log, UserName: func(uint32) string { return "u" }})
	if err != nil {
		t.Fatal(err)
	}
	return ls
}

// dialAs connects to ls as uid over a pipe (the tests run as root, the socket would say
// 0) and returns the client's end. Its Close waits until the server is done with the
// connection (its slot released), as a client's next connection would find it.
func dialAs(ls *Server, uid uint32) net.Conn {
	client, server := net.Pipe()
	done := make(chan struct{})
	go func() {
		defer close(done)
		ls.admit(server, uid, 1)
	}()
	return &servedConn{Conn: client, done: done}
}

// servedConn is dialAs's client end.
type servedConn struct {
	net.Conn
	done <-chan struct{}
}

func (c *servedConn) Close() error {
	err := c.Conn.Close()
	select {
	case <-c.done:
	case <-time.After(10 * time.Second):
		return errors.New("the server kept the connection 10 s after the client closed it")
	}
	return err
}

// ask sends a request line and reads the reply.
func ask(t *testing.T, c net.Conn, line string) Reply {
	t.Helper()
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	if line != "" {
		if _, err := c.Write([]byte(line + "\n")); err != nil {
			t.Fatalf("writing %s: %v", line, err)
		}
	}
	answer, err := bufio.NewReader(c).ReadString('\n')
	if err != nil {
		t.Fatalf("no reply to %q: %v", line, err)
	}
	var r Reply
	if err := json.Unmarshal([]byte(answer), &r); err != nil {
		t.Fatal(err)
	}
	return r
}

// TestConnectionsPerUIDBounded: a uid that holds maxConnsPerUID idle connections is
// refused more at once, as temporary, without a request; another uid and root are not,
// and a freed slot is usable again.
func TestConnectionsPerUIDBounded(t *testing.T) {
	t.Parallel()
	ls := floodServer(t, 0)
	var idle []net.Conn
	for range maxConnsPerUID {
		idle = append(idle, dialAs(ls, 1000))
	}
	// Each idle one is being served once its slot is taken: wait until all are.
	deadline := time.Now().Add(10 * time.Second)
	for ls.openOf(1000) < maxConnsPerUID {
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d idle connections admitted", ls.openOf(1000), maxConnsPerUID)
		}
		time.Sleep(time.Millisecond)
	}
	if r := ask(t, dialAs(ls, 1000), ""); !r.Temporary || !strings.Contains(r.Error, "connections") {
		t.Errorf("connection %d of uid 1000: %+v, want refused as temporary", maxConnsPerUID+1, r)
	}
	if r := ask(t, dialAs(ls, 1001), `{"v":1,"op":"list"}`); r.Error != "" {
		t.Errorf("uid 1001 is limited by uid 1000's connections: %+v", r)
	}
	for range maxConnsPerUID + 2 {
		defer dialAs(ls, 0).Close()
	}
	if r := ask(t, dialAs(ls, 0), `{"v":1,"op":"list"}`); r.Error != "" {
		t.Errorf("root is limited: %+v", r)
	}
	idle[0].Close()
	for ls.openOf(1000) >= maxConnsPerUID {
		if time.Now().After(deadline) {
			t.Fatal("a closed connection keeps its slot")
		}
		time.Sleep(time.Millisecond)
	}
	if r := ask(t, dialAs(ls, 1000), `{"v":1,"op":"list"}`); r.Error != "" {
		t.Errorf("uid 1000 after freeing a slot: %+v", r)
	}
	for _, c := range idle[1:] {
		c.Close()
	}
}

// TestQueriesRateLimited: list and verify are counted per uid in a window of their
// own: past it they are refused as temporary, another uid is not, and the uid's
// submissions are not delayed by them.
func TestQueriesRateLimited(t *testing.T) {
	t.Parallel()
	ls := floodServer(t, 3)
	for i, line := range []string{`{"v":1,"op":"list"}`, `{"v":1,"op":"verify","rcpts":["a@example.org"]}`, `{"v":1,"op":"list"}`} {
		if r := ask(t, dialAs(ls, 1000), line); r.Error != "" {
			t.Fatalf("request %d: %+v", i+1, r)
		}
	}
	for _, line := range []string{`{"v":1,"op":"list"}`, `{"v":1,"op":"verify","rcpts":["a@example.org"]}`} {
		if r := ask(t, dialAs(ls, 1000), line); !r.Temporary || !strings.Contains(r.Error, "list or verify requests a minute") {
			t.Errorf("%s over the rate: %+v", line, r)
		}
	}
	if r := ask(t, dialAs(ls, 1001), `{"v":1,"op":"list"}`); r.Error != "" {
		t.Errorf("uid 1001 limited by uid 1000: %+v", r)
	}
	if !ls.rate.allow(1000) {
		t.Error("uid 1000's list requests used up its submissions")
	}
}

// lockedBuffer collects log lines from the connections' goroutines.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) count(s string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return strings.Count(l.b.String(), s)
}

// TestRefusalsLoggedSparingly: a user who sends garbage in a loop gets each refused,
// and the journal one line per logEvery.
func TestRefusalsLoggedSparingly(t *testing.T) {
	t.Parallel()
	logs := &lockedBuffer{}
	ls := floodServerLog(t, 0, slog.New(slog.NewTextHandler(logs, nil)))
	for range 50 {
		if r := ask(t, dialAs(ls, 1000), `{"v":1,"bogus":true}`); !strings.Contains(r.Error, "malformed") {
			t.Fatalf("garbage: %+v", r)
		}
	}
	if n := logs.count("local submission refused"); n != 1 {
		t.Errorf("50 refusals logged %d lines, want 1", n)
	}
}

// TestVerifyBounded: one -bv verifies at most maxVerify addresses, however large
// max_recipients is.
func TestVerifyBounded(t *testing.T) {
	t.Parallel()
	ls := floodServer(t, 0)
	ls.maxRcpts = 1000
	many := make([]string, maxVerify+1)
	for i := range many {
		many[i] = fmt.Sprintf("u%d@example.org", i)
	}
	line, _ := json.Marshal(Request{V: Version, Op: OpVerify, Rcpts: many})
	if r := ask(t, dialAs(ls, 1000), string(line)); !strings.Contains(r.Error, "the most one sendmail -bv verifies") || len(r.Verified) != 0 {
		t.Errorf("%d addresses: %+v", len(many), r.Error)
	}
	line, _ = json.Marshal(Request{V: Version, Op: OpVerify, Rcpts: many[:maxVerify]})
	if r := ask(t, dialAs(ls, 1000), string(line)); len(r.Verified) != maxVerify {
		t.Errorf("%d addresses: %d verdicts, %q", maxVerify, len(r.Verified), r.Error)
	}
}
