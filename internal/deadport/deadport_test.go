package deadport

import (
	"errors"
	"net"
	"syscall"
	"testing"
	"time"
)

// TestRefusedAndNotTaken: a connection to the address is refused, and a listener cannot
// be bound to it while the test runs.
func TestRefusedAndNotTaken(t *testing.T) {
	t.Parallel()
	addr := Addr(t)
	if c, err := net.DialTimeout("tcp", addr, 5*time.Second); err == nil || !errors.Is(err, syscall.ECONNREFUSED) {
		if c != nil {
			c.Close()
		}
		t.Fatalf("dial %s: %v, want connection refused", addr, err)
	}
	if l, err := net.Listen("tcp", addr); err == nil {
		l.Close()
		t.Fatalf("a listener was bound to the dead address %s", addr)
	}
}
