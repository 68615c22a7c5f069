package managesieve

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"github.com/postern/postern/connset"
	"github.com/postern/postern/event"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"net/netip"
	"sync/atomic"
	"time"

	"github.com/postern/postern/sieve"
	"github.com/postern/postern/store"
)

// Authenticator checks a login. It returns the canonical user address, or an error
// (any error is a failed login; the implementation applies rate limits and logs).
type Authenticator interface {
	Authenticate(ctx context.Context, remoteAddr net.Addr, username, password string) (user string, err error)
}

// Scripts is where a user's scripts live; *store.Store satisfies it. Errors that wrap
// store.ErrNotFound, ErrExists, ErrInUse and ErrInvalid become the matching response
// codes (NONEXISTENT, ALREADYEXISTS, ACTIVE, a plain NO).
type Scripts interface {
	PutScript(ctx context.Context, user, name, content string) error
	GetScript(ctx context.Context, user, name string) (store.SieveScript, error)
	ListScripts(ctx context.Context, user string) ([]store.SieveScript, error)
	SetActive(ctx context.Context, user, name string) error // "" deactivates
	DeleteScript(ctx context.Context, user, name string) error
	RenameScript(ctx context.Context, user, oldName, newName string) error
}

// CompileFunc validates a script for PUTSCRIPT and CHECKSCRIPT. A script that must be
// refused gives a *sieve.CompileError; any other error is a server failure.
type CompileFunc func(ctx context.Context, user, name string, src []byte) error

// Options configure a Server. Scripts and Authenticator are required.
type Options struct {
	Hostname      string
	TLSConfig     *tls.Config // nil: no STARTTLS, and so no AUTHENTICATE at all
	Authenticator Authenticator
	Scripts       Scripts
	// Compile defaults to sieve.Compile with include :personal resolved from the
	// user's own scripts and :global refused; the daemon passes one that also knows
	// its global script directory.
	Compile       CompileFunc
	MaxScriptSize int64 // 0 means 1 MiB, the engine's default
	MaxScripts    int   // per user; 0 means 64
	// Extensions is the SIEVE capability; nil means DefaultExtensions().
	Extensions  []string
	IdleTimeout time.Duration // 0 means 10 minutes (between commands)
	// LoginTimeout closes a connection that has not authenticated this long after it
	// was accepted; 0 is none.
	LoginTimeout time.Duration
	// ConnLimiter admits or refuses each connection; nil admits all.
	ConnLimiter ConnLimiter
	Logger      *slog.Logger // nil discards
	Events      EventSink    // logins (package event); nil: none
}

// EventSink receives the server's events (package event): Login.
type EventSink interface {
	Emit(event.Event)
}

// ConnLimiter counts open connections (in total and per client network;
// server/limits.Conns). Admit returns the function that frees the slot, or why the
// connection is refused (answered BYE).
type ConnLimiter interface {
	Admit(remote netip.Addr) (release func(), err error)
}

// DefaultExtensions returns the Sieve extensions the engine implements, as listed in
// the SIEVE capability (RFC 5804 section 1.7). The comparators i;octet and
// i;ascii-casemap are implied by RFC 5228 and not listed, as Pigeonhole does.
func DefaultExtensions() []string {
	return []string{
		"fileinto", "reject", "envelope", "encoded-character", "vacation", "vacation-seconds",
		"subaddress", "comparator-i;ascii-numeric", "relational", "regex", "imap4flags", "copy",
		"include", "variables", "body", "mailbox", "date", "index", "duplicate",
	}
}

// ErrServerClosed is returned by Serve after Shutdown.
var ErrServerClosed = errors.New("managesieve: server closed")

// Server is a ManageSieve server. Serve may be called for several listeners.
type Server struct {
	opts     Options
	log      *slog.Logger
	commands map[string]cmdSpec
	nextID   atomic.Uint64

	sessions connset.Set[*session] // the listeners and open sessions, for Shutdown
	refuser  *connset.Refuser      // writes the BYE of refused connections, bounded
}

// NewServer checks opts and fills in the defaults.
func NewServer(opts Options) (*Server, error) {
	if opts.Scripts == nil || opts.Authenticator == nil {
		return nil, errors.New("managesieve: Options.Scripts and Options.Authenticator are required")
	}
	if opts.MaxScriptSize <= 0 {
		opts.MaxScriptSize = 1 << 20
	}
	if opts.MaxScripts <= 0 {
		opts.MaxScripts = 64
	}
	if opts.Extensions == nil {
		opts.Extensions = DefaultExtensions()
	}
	if opts.IdleTimeout <= 0 {
		opts.IdleTimeout = 10 * time.Minute
	}
	if opts.Hostname == "" {
		opts.Hostname = "localhost"
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	s := &Server{opts: opts, log: opts.Logger.With("service", "managesieve"),
		commands: commandTable(), refuser: connset.NewRefuser(connset.DefaultRefusers, connset.DefaultRefuseTimeout)}
	if s.opts.Compile == nil {
		s.opts.Compile = s.defaultCompile
	}
	return s, nil
}

// defaultCompile compiles with the user's own scripts as the :personal includes.
func (s *Server) defaultCompile(ctx context.Context, user, name string, src []byte) error {
	_, err := sieve.Compile(name, src, sieve.CompileOptions{
		Loader:        personalLoader{ctx: ctx, user: user, scripts: s.opts.Scripts},
		MaxScriptSize: int(s.opts.MaxScriptSize),
	})
	return err
}

type personalLoader struct {
	ctx     context.Context
	user    string
	scripts Scripts
}

func (l personalLoader) LoadScript(_ context.Context, loc sieve.ScriptLocation, name string) ([]byte, error) {
	if loc != sieve.Personal {
		return nil, fmt.Errorf("global script %q: %w", name, fs.ErrNotExist)
	}
	sc, err := l.scripts.GetScript(l.ctx, l.user, name)
	if errors.Is(err, store.ErrNotFound) {
		return nil, fmt.Errorf("script %q: %w", name, fs.ErrNotExist)
	}
	return []byte(sc.Content), err
}

// Serve accepts connections on l until Shutdown; it always returns a non-nil error,
// ErrServerClosed after Shutdown.
func (s *Server) Serve(l net.Listener) error {
	if !s.sessions.Listen(l) {
		return ErrServerClosed
	}
	defer s.sessions.Unlisten(l)
	var delay time.Duration
	for {
		c, err := l.Accept()
		if err != nil {
			if s.sessions.Closing() {
				return ErrServerClosed
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				delay = min(max(2*delay, 5*time.Millisecond), time.Second)
				time.Sleep(delay) // back off on EMFILE and the like, as net/http does
				continue
			}
			return fmt.Errorf("managesieve: accept: %w", err)
		}
		delay = 0
		release, err := s.admit(c)
		if err != nil {
			continue
		}
		sess := s.newSession(c)
		sess.release = release
		if d := s.opts.LoginTimeout; d > 0 {
			sess.login = time.AfterFunc(d, func() {
				sess.log.Info("managesieve: login timeout")
				_ = c.Close()
			})
		}
		if !s.sessions.Add(sess) {
			sess.close()
			c.Close()
			return ErrServerClosed
		}
		go s.run(sess)
	}
}

// admit applies the connection limits; a refused connection is answered BYE and
// closed in the background (closed at once when every refusal writer is busy).
func (s *Server) admit(c net.Conn) (release func(), err error) {
	if s.opts.ConnLimiter == nil {
		return nil, nil
	}
	var remote netip.Addr
	if ta, ok := c.RemoteAddr().(*net.TCPAddr); ok {
		remote = ta.AddrPort().Addr().Unmap()
	}
	release, err = s.opts.ConnLimiter.Admit(remote)
	if err != nil {
		s.log.Info("managesieve: connection refused", "remote", c.RemoteAddr().String(), "reason", err.Error())
		s.refuser.Refuse(c, func(c net.Conn) { _, _ = io.WriteString(c, reply("BYE", "", "", "Too many connections.")) })
	}
	return release, err
}

func (s *Server) run(sess *session) {
	defer s.sessions.Done(sess)
	defer sess.close()
	defer func() {
		if r := recover(); r != nil {
			sess.log.Error("managesieve: session panicked", "panic", r)
		}
	}()
	sess.serve()
}

// Shutdown stops accepting, lets every session finish the command it is running and
// say BYE, and waits for them until ctx ends; then it closes what is left.
func (s *Server) Shutdown(ctx context.Context) error {
	interrupt := func(sess *session) { sess.interrupt() }
	closeConn := func(sess *session) { sess.conn().Close() }
	err := s.sessions.Shutdown(ctx, interrupt, closeConn, nil)
	s.refuser.Wait()
	return err
}
