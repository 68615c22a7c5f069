package connset

import (
	"context"
	"errors"
	"net"
	"testing"
	"time"
)

type fakeConn struct{ stop chan struct{} }

// TestShutdownWaitsThenKills: a connection that finishes when woken lets Shutdown return
// nil; one that ignores the wake-up is killed when the deadline passes, and Shutdown
// reports the deadline. Nothing new is accepted once it began.
func TestShutdownWaitsThenKills(t *testing.T) {
	t.Parallel()
	for _, obeys := range []bool{true, false} {
		var s Set[*fakeConn]
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		if !s.Listen(ln) {
			t.Fatal("Listen refused before Shutdown")
		}
		c := &fakeConn{stop: make(chan struct{})}
		if !s.Add(c) {
			t.Fatal("Add refused before Shutdown")
		}
		go func() { <-c.stop; s.Done(c) }()
		cancelled := false
		wake := func(c *fakeConn) {
			if obeys {
				close(c.stop)
			}
		}
		kill := func(c *fakeConn) { close(c.stop) }
		ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
		err = s.Shutdown(ctx, wake, kill, func() { cancelled = true })
		cancel()
		if obeys && err != nil || !obeys && !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("obeys=%v: Shutdown = %v", obeys, err)
		}
		if !cancelled {
			t.Errorf("obeys=%v: cancel not called", obeys)
		}
		if _, err := ln.Accept(); !errors.Is(err, net.ErrClosed) {
			t.Errorf("obeys=%v: listener still open: %v", obeys, err)
		}
		if s.Add(&fakeConn{}) || s.Go(func() {}) || s.Listen(ln) {
			t.Errorf("obeys=%v: accepted work after Shutdown", obeys)
		}
	}
}
