package connset

import (
	"net"
	"sync"
	"time"
)

// Defaults for NewRefuser: enough writers for the refusals a burst makes on loopback or
// a LAN, and a deadline that a live client answers well within.
const (
	DefaultRefusers      = 64
	DefaultRefuseTimeout = 2 * time.Second
)

// Refuser answers refused connections (a protocol's "too many connections") in the
// background, bounded: at most n farewells are written at once, each within timeout;
// a connection refused while every writer is busy is closed without a word. What
// refusals cost under a flood is therefore fixed, and a client that never reads (or
// never finishes a TLS handshake) holds a writer for timeout at most. It is safe for
// concurrent use.
type Refuser struct {
	timeout time.Duration
	slots   chan struct{}
	wg      sync.WaitGroup
}

// NewRefuser returns a Refuser with n writers (at least 1) and their deadline.
func NewRefuser(n int, timeout time.Duration) *Refuser {
	return &Refuser{timeout: timeout, slots: make(chan struct{}, max(n, 1))}
}

// Refuse hands c to a writer that runs say (which writes the farewell, and may wrap c,
// in TLS for instance) under the deadline and then closes c; it reports false when
// every writer was busy and c was closed at once instead. It never blocks.
func (r *Refuser) Refuse(c net.Conn, say func(net.Conn)) bool {
	select {
	case r.slots <- struct{}{}:
	default:
		_ = c.Close()
		return false
	}
	r.wg.Add(1)
	go func() {
		defer r.wg.Done()
		defer func() { <-r.slots }()
		_ = c.SetDeadline(time.Now().Add(r.timeout))
		say(c)
		_ = c.Close()
	}()
	return true
}

// Wait waits until the farewells being written are done.
func (r *Refuser) Wait() { r.wg.Wait() }
