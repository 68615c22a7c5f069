package smtp

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/base32"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"strings"
	"sync"

	gosmtp "github.com/emersion/go-smtp"
	"github.com/postern/postern/connset"
	"github.com/postern/postern/event"
)

// Server is an MX or LMTP server. It is safe for concurrent use; one Server may
// Serve several listeners.
type Server struct {
	opts Options
	lib  *gosmtp.Server
	bufs sync.Pool // *[]byte of readBufSize: DATA read buffers, reused between messages

	mu    sync.Mutex
	conns map[*conn]struct{}
	// refuser answers refused connections: a fixed number of writers, each within a
	// short deadline; beyond them a connection is closed without a word.
	refuser *connset.Refuser
}

// NewServer builds a Server from opts; zero fields get their defaults.
// Options.Policy and Options.Deliverer are required.
func NewServer(opts Options) *Server {
	opts = opts.withDefaults()
	s := &Server{
		opts:    opts,
		conns:   make(map[*conn]struct{}),
		refuser: connset.NewRefuser(connset.DefaultRefusers, connset.DefaultRefuseTimeout),
	}
	lib := gosmtp.NewServer(backend{s})
	lib.Domain = opts.Hostname
	lib.LMTP = opts.Role == RoleLMTP
	lib.TLSConfig = opts.TLSConfig
	lib.MaxMessageBytes = opts.MaxMessageBytes
	// Recipients are counted by session.Rcpt so the refusal is logged.
	lib.MaxRecipients = 0
	// go-smtp's own line limit applies to every raw line and closes the
	// connection; it is only the backstop against endless lines. Text lines are
	// limited by textChecker, which refuses the message and keeps the session.
	lib.MaxLineLength = opts.MaxLineLength + hardLineSlack
	lib.EnableSMTPUTF8 = true
	// Deadlines are set per read by conn; go-smtp's would span a whole DATA.
	lib.ReadTimeout = 0
	lib.WriteTimeout = opts.CommandTimeout
	lib.ErrorLog = libLogger{opts.Logger}
	if opts.Role.isSubmission() {
		// go-smtp would refuse AUTH without TLS with its own 523 reply; the
		// submission session refuses it itself, with Postfix's 530 5.7.0 "Must
		// issue a STARTTLS command first", and advertises AUTH only under TLS.
		lib.AllowInsecureAuth = true
	}
	s.lib = lib
	return s
}

// Serve accepts connections on l until Shutdown. It returns nil after Shutdown,
// and an error at once when the Options cannot work (see Options.validate).
//
// l is a plain listener for every role. For RoleSubmissions Serve does the
// implicit TLS itself (it must sit above the conn that keeps the timeouts); a
// listener from tls.NewListener is accepted too: its not yet handshaken TLS
// layer is dropped and replaced by Options.TLSConfig.
func (s *Server) Serve(l net.Listener) error {
	if err := s.opts.validate(); err != nil {
		l.Close()
		return err
	}
	return s.lib.Serve(&listener{Listener: l, srv: s})
}

// Shutdown stops accepting, lets the sessions in progress finish until ctx is
// done, then closes those still open and returns ctx.Err().
func (s *Server) Shutdown(ctx context.Context) error {
	err := s.lib.Shutdown(ctx)
	if ctx.Err() != nil {
		s.mu.Lock()
		open := make([]*conn, 0, len(s.conns))
		for c := range s.conns {
			open = append(open, c)
		}
		s.mu.Unlock()
		for _, c := range open {
			c.Conn.Close() // conn.Close runs when go-smtp's handler returns
		}
	}
	s.refuser.Wait()
	if err == gosmtp.ErrServerClosed {
		return nil
	}
	if err != nil {
		return fmt.Errorf("smtp shutdown: %w", err)
	}
	return nil
}

// listener admits each accepted connection or refuses it (connection limits)
// before go-smtp sees it, so a refused client never gets a session.
type listener struct {
	net.Listener
	srv *Server
}

func (l *listener) Accept() (net.Conn, error) {
	for {
		nc, err := l.Listener.Accept()
		if err != nil {
			return nil, err // go-smtp retries temporary errors
		}
		implicit := l.srv.opts.Role == RoleSubmissions
		if tc, ok := nc.(*tls.Conn); ok && implicit {
			nc = tc.NetConn() // from tls.NewListener: no handshake yet
		}
		if c := l.srv.admit(nc); c != nil {
			if implicit {
				// go-smtp sees a *tls.Conn, does the handshake, and reports
				// the TLS state to the session; connOf finds c below it.
				return tls.Server(c, l.srv.opts.TLSConfig), nil
			}
			return c, nil
		}
	}
}

// admit registers nc as a session, or answers and closes it: 554 5.7.1 for a
// stranger on LMTP over TCP (before it is counted: it never takes a slot), 421 4.7.0
// when a limit is reached (RFC 5321 section 3.8: 421 may be sent at any time).
func (s *Server) admit(nc net.Conn) *conn {
	c := &conn{Conn: nc, srv: s, id: newID(), start: s.opts.Now()}
	if ta, ok := nc.RemoteAddr().(*net.TCPAddr); ok {
		ap := ta.AddrPort()
		c.remote = netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port())
		c.trusted = s.isTrusted(c.remote.Addr())
	} else {
		c.trusted = true // unix socket: the file permissions are the authorisation
	}
	if refuse := s.refusal(c); refuse != nil {
		c.report(event.Rejected{Service: s.opts.Role.Listener(), Session: c.id, Stage: "connect",
			Code: refuse.Code, Enhanced: refuse.EnhancedString(), Reason: refuse.Message})
		s.refuse(nc, refuse)
		return nil
	}
	s.mu.Lock()
	s.conns[c] = struct{}{}
	s.mu.Unlock()
	c.startLoginTimer()
	c.log(slog.LevelInfo, "connect", slog.String(KeyRole, s.opts.Role.String()),
		slog.Bool(KeyTrusted, c.trusted))
	c.verdict = s.startClientCheck(c)
	return c
}

// refusal decides whether c may have a session; nil admits it (and c holds its
// ConnLimiter slot).
func (s *Server) refusal(c *conn) *ReplyError {
	if s.opts.Role == RoleLMTP && !c.trusted {
		return errLMTPStranger
	}
	l := s.opts.ConnLimiter
	if l == nil {
		return nil
	}
	release, err := l.Admit(c.remote.Addr())
	if err != nil {
		return &ReplyError{421, [3]int{4, 7, 0}, "Error: " + err.Error()}
	}
	c.release = release
	return nil
}

// refuse writes the refusal to nc in the background and closes it (at once, without
// a word, when every refusal writer is busy).
func (s *Server) refuse(nc net.Conn, refuse *ReplyError) {
	s.refuser.Refuse(nc, func(nc net.Conn) {
		w := nc
		if s.opts.Role == RoleSubmissions && s.opts.TLSConfig != nil {
			w = tls.Server(nc, s.opts.TLSConfig) // the client speaks TLS first
		}
		fmt.Fprintf(w, "%d %s %s %s\r\n", refuse.Code, refuse.EnhancedString(), s.opts.Hostname, refuse.Message)
		w.Close()
	})
}

// release frees the connection's slots; called once from conn.Close.
func (s *Server) release(c *conn) {
	s.mu.Lock()
	delete(s.conns, c)
	s.mu.Unlock()
	if c.loginTimer != nil {
		c.loginTimer.Stop()
	}
	if c.release != nil {
		c.release()
	}
}

func (s *Server) isTrusted(ip netip.Addr) bool {
	for _, p := range s.opts.TrustedNetworks {
		if p.Contains(ip) {
			return true
		}
	}
	return false
}

// newID returns a random session id such as "K7Q2M4XA3B": unique enough to
// follow one session through the log.
func newID() string {
	var b [10]byte
	rand.Read(b[:])
	return strings.ToUpper(base32.StdEncoding.EncodeToString(b[:]))[:12]
}

// backend adapts Server to go-smtp's Backend.
type backend struct{ srv *Server }

func (b backend) NewSession(gc *gosmtp.Conn) (gosmtp.Session, error) {
	return b.srv.newSession(gc)
}

// libLogger sends go-smtp's own error messages to the mail log. Panics in our
// callbacks are logged by the session with its id, so go-smtp's second report of
// them is dropped.
type libLogger struct{ l *slog.Logger }

func (l libLogger) Printf(format string, v ...any) {
	for _, a := range v {
		if _, ok := a.(sessionPanic); ok {
			return
		}
	}
	l.l.Warn("smtp library", slog.String(KeyReason, fmt.Sprintf(format, v...)))
}

func (l libLogger) Println(v ...any) {
	l.l.Warn("smtp library", slog.String(KeyReason, strings.TrimSuffix(fmt.Sprintln(v...), "\n")))
}
