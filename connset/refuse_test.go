package connset

import (
	"errors"
	"io"
	"net"
	"runtime"
	"testing"
	"time"
)

// TestRefuserCapsWriters: 1,000 refused clients that never read (net.Pipe: a write
// waits for its reader, as a TLS handshake waits for a silent client) get 4 writers,
// no more goroutines than that, and the rest are closed at once without a word; the
// writers give up at their deadline; then a client that reads gets its farewell. Not
// parallel: it counts the process's goroutines.
func TestRefuserCapsWriters(t *testing.T) {
	const writers, timeout = 4, 300 * time.Millisecond
	r := NewRefuser(writers, timeout)
	say := func(c net.Conn) { _, _ = io.WriteString(c, "BYE\r\n") }
	before := runtime.NumGoroutine()
	start := time.Now()
	var clients []net.Conn
	answered := 0
	for range 1000 {
		srv, cli := net.Pipe()
		t.Cleanup(func() { cli.Close() })
		clients = append(clients, cli)
		if r.Refuse(srv, say) {
			answered++
		}
	}
	if answered != writers {
		t.Fatalf("%d of 1000 refusals got a writer, want %d", answered, writers)
	}
	if g := runtime.NumGoroutine() - before; g > writers {
		t.Fatalf("1000 refusals run %d goroutines, want at most %d", g, writers)
	}
	// One closed at once: EOF, nothing written, no wait for the deadline.
	cli := clients[len(clients)-1]
	_ = cli.SetReadDeadline(time.Now().Add(5 * time.Second))
	if n, err := cli.Read(make([]byte, 16)); n != 0 || !errors.Is(err, io.EOF) {
		t.Fatalf("a refusal beyond the cap: read %d, %v; want EOF at once", n, err)
	}
	r.Wait()
	if took := time.Since(start); took < timeout*8/10 || took > timeout+5*time.Second {
		t.Fatalf("the blocked writers ended after %v, want about their %v deadline", took, timeout)
	}
	srv, cli := net.Pipe()
	got := make(chan string, 1)
	go func() {
		b, _ := io.ReadAll(cli)
		got <- string(b)
	}()
	if !r.Refuse(srv, say) {
		t.Fatal("no writer free after the deadline")
	}
	select {
	case s := <-got:
		if s != "BYE\r\n" {
			t.Fatalf("the farewell read %q", s)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the reading client was not answered and closed")
	}
	r.Wait()
}
