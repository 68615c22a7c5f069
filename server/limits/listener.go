package limits

import (
	"net"
	"sync"
)

// Listener applies a Conns to a listener whose protocol has no refusal of its own to
// send (HTTP): a refused connection is closed at once; an admitted one frees its slot
// when closed.
type Listener struct {
	net.Listener
	conns *Conns
}

// NewListener wraps ln.
func NewListener(ln net.Listener, c *Conns) *Listener { return &Listener{Listener: ln, conns: c} }

// Accept returns the next admitted connection.
func (l *Listener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		var remote = ParseAddr(c.RemoteAddr().String())
		release, err := l.conns.Admit(remote)
		if err != nil {
			c.Close()
			continue
		}
		return &limitedConn{Conn: c, release: release}, nil
	}
}

type limitedConn struct {
	net.Conn
	release func()
	once    sync.Once
}

func (c *limitedConn) Close() error {
	c.once.Do(c.release)
	return c.Conn.Close()
}
