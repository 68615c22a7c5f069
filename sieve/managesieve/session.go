package managesieve

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"io"
	"log/slog"
	"net"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

const (
	maxLine         = 8 << 10 // one command line without its literals
	maxArgs         = 8
	maxBadCommands  = 10 // in a row, then BYE
	maxAuthFailures = 3  // per connection, then BYE
	// maxDrain is how much of an over-long literal is read and thrown away to answer
	// NO and stay in sync; beyond it the connection is closed.
	maxDrain = 16 << 20
	// maxPreAuthLiteral bounds the literals of a client that has not logged in: enough
	// for an AUTHENTICATE PLAIN response; a larger one ends the connection.
	maxPreAuthLiteral = 4 << 10
)

// session is one connection. It is used by its own goroutine only, except
// interrupt and conn, which Shutdown calls.
type session struct {
	srv     *Server
	log     *slog.Logger
	baseLog *slog.Logger // without the user

	mu       sync.Mutex
	c        net.Conn
	stopping atomic.Bool

	r         *bufio.Reader
	w         *bufio.Writer
	tls       bool
	user      string // "" until AUTHENTICATE succeeds
	release   func() // frees the connection limit's slot; nil without one
	login     *time.Timer
	authFails int
	bad       int
	ctx       context.Context
}

func (s *Server) newSession(c net.Conn) *session {
	id := s.nextID.Add(1)
	sess := &session{
		srv: s, c: c,
		log: s.log.With("conn", strconv.FormatUint(id, 10), "remote", c.RemoteAddr().String()),
		r:   bufio.NewReaderSize(c, 4096),
		w:   bufio.NewWriterSize(c, 4096),
		ctx: context.Background(),
	}
	sess.baseLog = sess.log
	_, sess.tls = c.(*tls.Conn)
	return sess
}

func (sess *session) conn() net.Conn {
	sess.mu.Lock()
	defer sess.mu.Unlock()
	return sess.c
}

// interrupt wakes a session blocked reading its next command so that it says BYE.
func (sess *session) interrupt() {
	sess.stopping.Store(true)
	_ = sess.conn().SetReadDeadline(time.Now())
}

func (sess *session) close() {
	sess.conn().Close()
	if sess.login != nil {
		sess.login.Stop()
	}
	if sess.release != nil {
		sess.release()
	}
}

func (sess *session) limits() limits {
	if sess.user == "" {
		return limits{maxLine: maxLine, maxLiteral: maxPreAuthLiteral, maxArgs: maxArgs}
	}
	return limits{maxLine: maxLine, maxLiteral: sess.srv.opts.MaxScriptSize + maxLine, maxArgs: maxArgs}
}

func (sess *session) write(s string) {
	_, _ = sess.w.WriteString(s)
}

func (sess *session) flush() error {
	_ = sess.conn().SetWriteDeadline(time.Now().Add(time.Minute))
	return sess.w.Flush()
}

func (sess *session) ok(text string)       { sess.write(reply("OK", "", "", text)) }
func (sess *session) no(code, text string) { sess.write(reply("NO", code, "", text)) }
func (sess *session) bye(text string)      { sess.write(reply("BYE", "", "", text)); _ = sess.flush() }

// serve greets and runs commands until LOGOUT, an error or Shutdown.
func (sess *session) serve() {
	sess.log.Debug("managesieve: connected")
	sess.capabilities()
	sess.ok(sess.srv.opts.Hostname + " Postern ManageSieve ready.")
	if sess.flush() != nil {
		return
	}
	for {
		if sess.stopping.Load() {
			sess.bye("Server shutting down.")
			return
		}
		_ = sess.conn().SetReadDeadline(time.Now().Add(sess.srv.opts.IdleTimeout))
		cmd, err := readCommand(sess.r, sess.limits())
		if err != nil {
			if !sess.readFailed(err) {
				return
			}
			continue
		}
		if done := sess.dispatch(cmd); done {
			return
		}
		if sess.flush() != nil {
			return
		}
	}
}

// readFailed answers a command that could not be read and reports whether the
// session can go on.
func (sess *session) readFailed(err error) bool {
	var se *syntaxError
	var lt *literalTooLarge
	var fe *fatalError
	var ne net.Error
	switch {
	case errors.As(err, &se):
		sess.no("", "Syntax error: "+se.msg+".")
		return sess.badCommand()
	case errors.As(err, &lt):
		if sess.user == "" {
			sess.bye("Literal too large before authentication.")
			return false
		}
		if lt.n > maxDrain {
			sess.bye("Literal too large.")
			return false
		}
		if _, err := io.CopyN(io.Discard, sess.r, lt.n); err != nil {
			return false
		}
		p := &parser{r: sess.r, lim: sess.limits()}
		if p.skipLine() != nil {
			return false
		}
		sess.no(codeQuotaMaxSize, "Script too large.")
		return sess.flush() == nil
	case errors.As(err, &fe):
		sess.bye(fe.msg + ".")
		return false
	case sess.stopping.Load():
		sess.bye("Server shutting down.")
		return false
	case errors.As(err, &ne) && ne.Timeout():
		sess.bye("Disconnected for inactivity.")
		return false
	case errors.Is(err, io.EOF):
		sess.log.Debug("managesieve: client closed the connection")
		return false
	default:
		sess.log.Debug("managesieve: read failed", "err", err)
		return false
	}
}

// badCommand counts a refused command; too many in a row end the session.
func (sess *session) badCommand() bool {
	sess.bad++
	if sess.bad >= maxBadCommands {
		sess.bye("Too many invalid commands.")
		return false
	}
	return sess.flush() == nil
}

// dispatch runs one command and reports whether the session is over.
func (sess *session) dispatch(cmd command) bool {
	name := strings.ToUpper(cmd.name)
	spec, ok := sess.srv.commands[name]
	switch {
	case !ok:
		sess.no("", "Unknown command "+clip(cmd.name)+".")
		return !sess.badCommand()
	case spec.auth && sess.user == "":
		sess.no("", name+" needs authentication first.")
		return !sess.badCommand()
	case spec.unauth && sess.user != "":
		sess.no("", name+" is not allowed after authentication.")
		return !sess.badCommand()
	}
	if len(cmd.args) < len(spec.args)-spec.optional || len(cmd.args) > len(spec.args) {
		sess.no("", "Wrong number of arguments for "+name+".")
		return !sess.badCommand()
	}
	for i, a := range cmd.args {
		if a.kind != spec.args[i] {
			sess.no("", "Wrong type of argument "+strconv.Itoa(i+1)+" for "+name+".")
			return !sess.badCommand()
		}
	}
	sess.bad = 0
	return spec.run(sess, cmd.args)
}

func clip(s string) string {
	if len(s) > 40 {
		s = s[:40] + "..."
	}
	return s
}
