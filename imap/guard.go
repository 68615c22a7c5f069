package imap

import (
	"io"
	"net"
	"net/netip"
	"sync"
	"time"

	goimap "github.com/emersion/go-imap/v2"
)

// ConnLimiter counts open connections (in total and per client network;
// server/limits.Conns). Admit returns the function that frees the slot, or why the
// connection is refused.
type ConnLimiter interface {
	Admit(remote netip.Addr) (release func(), err error)
}

// UserLimiter counts logged-in sessions per user and client network
// (server/limits.Users, Dovecot's mail_max_userip_connections).
type UserLimiter interface {
	Admit(user string, remote netip.Addr) (release func(), err error)
}

// guard is what a connection carries for the limits: its slot, the idle timeout its
// read deadlines are kept within, and the timer that closes it when it has not logged
// in in time. It is set up before the library sees the connection.
type guard struct {
	idle    time.Duration
	release func()
	login   *time.Timer
	once    sync.Once
}

// clampRead bounds a read deadline by the idle timeout (a zero deadline too).
func (g *guard) clampRead(t time.Time) time.Time {
	if g.idle <= 0 {
		return t
	}
	limit := time.Now().Add(g.idle)
	if t.IsZero() || t.After(limit) {
		return limit
	}
	return t
}

// loggedIn stops the login timeout.
func (g *guard) loggedIn() {
	if g.login != nil {
		g.login.Stop()
	}
}

// end frees the slot and stops the timer, once.
func (g *guard) end() {
	g.once.Do(func() {
		g.loggedIn()
		if g.release != nil {
			g.release()
		}
	})
}

// admit applies the connection limits to a new connection; false means it was refused
// (answered and closed in the background by the refuser, or closed at once when all its
// writers are busy).
func (s *Server) admit(c *batchConn) bool {
	remote := addrOf(c.RemoteAddr())
	c.idle = s.opts.IdleTimeout
	if l := s.opts.ConnLimiter; l != nil {
		release, err := l.Admit(remote)
		if err != nil {
			s.log.Info("imap: connection refused", "client", remote.String(), "reason", err.Error())
			bye := "* BYE " + err.Error() + "\r\n"
			s.refuser.Refuse(c.Conn, func(nc net.Conn) { _, _ = io.WriteString(nc, bye) })
			return false
		}
		c.release = release
	}
	if d := s.opts.LoginTimeout; d > 0 {
		c.login = time.AfterFunc(d, func() {
			s.log.Info("imap: login timeout", "client", remote.String())
			_ = c.Conn.Close()
		})
	}
	return true
}

// addrOf returns a connection's client address; the zero Addr for a unix socket.
func addrOf(a net.Addr) netip.Addr {
	if ta, ok := a.(*net.TCPAddr); ok {
		return ta.AddrPort().Addr().Unmap()
	}
	return netip.Addr{}
}

// guardOf finds the batchConn under the library's connection (below TLS after
// STARTTLS); nil if there is none (tests that drive the library directly).
func guardOf(c net.Conn) *batchConn {
	for range 3 {
		switch v := c.(type) {
		case *batchConn:
			return v
		case interface{ NetConn() net.Conn }:
			c = v.NetConn()
		default:
			return nil
		}
	}
	return nil
}

// admitUser counts a logged-in session against the per-user limit; the release is
// kept for Close.
func (ss *session) admitUser(user string) error {
	l := ss.srv.opts.UserLimiter
	if l == nil || ss.conn == nil || ss.conn.NetConn() == nil {
		return nil
	}
	release, err := l.Admit(user, addrOf(ss.conn.NetConn().RemoteAddr()))
	if err != nil {
		ss.log.Warn("imap: login refused", "user", user, "reason", err.Error())
		return &goimap.Error{Type: goimap.StatusResponseTypeNo, Code: goimap.ResponseCodeLimit,
			Text: "Maximum number of connections from user and network exceeded"}
	}
	ss.userRelease = release
	if g := guardOf(ss.conn.NetConn()); g != nil {
		g.loggedIn()
	}
	return nil
}
