package imap

import (
	"crypto/tls"
	"net"
	"sync"
	"time"
)

// go-imap's encoder flushes its bufio.Writer after every response line, so FETCH 1:* on
// 10,000 messages became 10,000 write system calls and, over TLS, 10,000 TLS records
// that the client decrypts one by one. batchConn sits between the library and the
// socket (above TLS on port 993) and holds written bytes until the server is about to
// wait for the client: the moment a command's responses are complete (or a continuation
// request is sent) is exactly when the connection goes back to Read. A write made while
// a Read is blocked — an IDLE update pushed from another goroutine — goes out at once.
// Large output is sent whenever batchMax bytes are pending, so a big FETCH streams.
//
// The buffer comes from a pool and goes back after each flush, so idle sessions (IDLE
// with hundreds of phones) hold none.
type batchConn struct {
	net.Conn

	mu       sync.Mutex
	buf      *[]byte   // pending output; nil when empty
	reading  bool      // a Read is in progress: write through
	deadline time.Time // the write deadline the library last set
	err      error     // the first write error; later writes fail with it

	// The connection limits (guard.go); zero without them.
	guard
}

// batchMax is how many bytes are held before they are sent anyway: a few full TLS
// records (16 KiB each), so a large response streams in big writes.
const batchMax = 64 << 10

// flushTimeout bounds a flush that happens outside a library write (before a Read, at
// Close), when the library has cleared its write deadline.
const flushTimeout = 30 * time.Second

var batchPool = sync.Pool{New: func() any { b := make([]byte, 0, batchMax); return &b }}

func newBatchConn(c net.Conn) *batchConn { return &batchConn{Conn: c} }

func (c *batchConn) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.err != nil {
		return 0, c.err
	}
	if c.reading || len(p) >= batchMax {
		if err := c.flushLocked(); err != nil {
			return 0, err
		}
		n, err := c.Conn.Write(p)
		if err != nil {
			c.err = err
		}
		return n, err
	}
	if c.buf == nil {
		c.buf = batchPool.Get().(*[]byte)
	}
	*c.buf = append(*c.buf, p...)
	if len(*c.buf) >= batchMax {
		if err := c.flushLocked(); err != nil {
			return 0, err
		}
	}
	return len(p), nil
}

// flushLocked sends the pending bytes and returns the buffer to the pool. c.mu is held.
func (c *batchConn) flushLocked() error {
	if c.buf == nil {
		return c.err
	}
	b := c.buf
	c.buf = nil
	var err error
	if c.err == nil && len(*b) > 0 {
		_, err = c.Conn.Write(*b)
		if err != nil {
			c.err = err
		}
	}
	*b = (*b)[:0]
	batchPool.Put(b)
	return err
}

// flushBounded flushes under a deadline of its own when the library has none set (it
// clears its deadline at the end of every response).
func (c *batchConn) flushBounded() error {
	if c.buf == nil {
		return c.err
	}
	if c.deadline.IsZero() {
		_ = c.Conn.SetWriteDeadline(time.Now().Add(flushTimeout))
		defer func() { _ = c.Conn.SetWriteDeadline(c.deadline) }()
	}
	return c.flushLocked()
}

// Read sends everything pending first: the server reads only when it has answered
// what it was asked, or waits for a literal or DONE after a continuation request.
func (c *batchConn) Read(p []byte) (int, error) {
	c.mu.Lock()
	err := c.flushBounded()
	c.reading = true
	c.mu.Unlock()
	if err != nil {
		return 0, err
	}
	n, err := c.Conn.Read(p)
	c.mu.Lock()
	c.reading = false
	c.mu.Unlock()
	return n, err
}

func (c *batchConn) SetWriteDeadline(t time.Time) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.deadline = t
	return c.Conn.SetWriteDeadline(t)
}

func (c *batchConn) SetDeadline(t time.Time) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.deadline = t
	if err := c.Conn.SetWriteDeadline(t); err != nil {
		return err
	}
	return c.Conn.SetReadDeadline(c.clampRead(t))
}

// SetReadDeadline keeps the library's read deadlines within the idle timeout.
func (c *batchConn) SetReadDeadline(t time.Time) error {
	return c.Conn.SetReadDeadline(c.clampRead(t))
}

// Close sends what is pending (a BYE, a TLS close_notify) unless a write is blocked
// right now — then the close is what unblocks it. It sets a deadline of its own: a
// tls.Conn above us sets the write deadline to "now" after its close_notify.
func (c *batchConn) Close() error {
	c.guard.end()
	if c.mu.TryLock() {
		if c.buf != nil {
			_ = c.Conn.SetWriteDeadline(time.Now().Add(closeFlushTimeout))
			_ = c.flushLocked()
		}
		c.mu.Unlock()
	}
	return c.Conn.Close()
}

// closeFlushTimeout bounds the last flush at Close, for a client that stopped reading.
const closeFlushTimeout = 5 * time.Second

// isTLS tells go-imap whether a connection is encrypted (for LOGINDISABLED): a TLS
// connection itself (after STARTTLS) or a batchConn over one (port 993).
func isTLS(c net.Conn) bool {
	switch c := c.(type) {
	case *tls.Conn:
		return true
	case *batchConn:
		_, ok := c.Conn.(*tls.Conn)
		return ok
	}
	return false
}

// batchListener wraps every accepted connection in a batchConn, once the connection
// limits admit it (a refused one is answered BYE and closed without a session).
type batchListener struct {
	net.Listener
	srv *Server
}

func (l batchListener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		bc := newBatchConn(c)
		if l.srv.admit(bc) {
			return bc, nil
		}
	}
}
