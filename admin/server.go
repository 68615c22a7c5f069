package admin

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/postern/postern/connset"
	"github.com/postern/postern/peercred"
	"log/slog"
	"net"
	"os"
	"runtime/debug"
	"sync/atomic"
	"time"
)

// ErrServerClosed is returned by Serve after Shutdown.
var ErrServerClosed = errors.New("admin: server closed")

// ServerOptions configure a Server.
type ServerOptions struct {
	Logger *slog.Logger // nil = discard
	// Authorizer decides who may talk; nil admits only root and the daemon's own uid.
	Authorizer Authorizer
	// IdleTimeout closes a connection that sends nothing for this long; 0 = 5 minutes.
	IdleTimeout time.Duration
	// AfterCommand, if set, runs after every command that succeeded, with its name: the
	// daemon drops caches that an admin change (a new user, alias or domain) makes stale.
	AfterCommand func(cmd string)
}

// Server answers admin requests on any number of listeners.
type Server struct {
	backend  Backend
	handlers map[string]handler
	log      *slog.Logger
	auth     Authorizer
	idle     time.Duration
	after    func(cmd string)

	ctx    context.Context // parent of every handler's context; cancelled by a forced stop
	cancel context.CancelFunc

	conns  connset.Set[net.Conn] // the listeners and open connections, for Shutdown
	nextID atomic.Uint64
}

// NewServer returns a Server answering with backend.
func NewServer(backend Backend, opts ServerOptions) *Server {
	s := &Server{
		backend:  backend,
		handlers: commandTable(),
		log:      opts.Logger,
		auth:     opts.Authorizer,
		idle:     opts.IdleTimeout,
		after:    opts.AfterCommand,
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.auth == nil {
		s.auth = Access{OwnUID: uint32(os.Getuid())}
	}
	if s.idle <= 0 {
		s.idle = 5 * time.Minute
	}
	s.ctx, s.cancel = context.WithCancel(context.Background())
	return s
}

// Serve accepts connections on ln until Shutdown; it then returns ErrServerClosed. ln is
// closed when Serve returns.
func (s *Server) Serve(ln net.Listener) error {
	if !s.conns.Listen(ln) {
		ln.Close()
		return ErrServerClosed
	}
	defer func() {
		s.conns.Unlisten(ln)
		ln.Close()
	}()
	var backoff time.Duration
	for {
		c, err := ln.Accept()
		if err != nil {
			if s.conns.Closing() {
				return ErrServerClosed
			}
			if errors.Is(err, net.ErrClosed) {
				return err
			}
			// Probably out of file descriptors: wait a little rather than spin.
			backoff = min(max(2*backoff, 5*time.Millisecond), time.Second)
			s.log.Error("admin accept failed", "err", err, "retry_in", backoff)
			time.Sleep(backoff)
			continue
		}
		backoff = 0
		if !s.conns.Add(c) {
			c.Close()
			return ErrServerClosed
		}
		go s.serveConn(c, s.nextID.Add(1))
	}
}

// Shutdown stops accepting, lets requests being handled finish and closes idle
// connections. If ctx ends first, it cancels the handlers' context, closes every
// connection and returns ctx's error.
func (s *Server) Shutdown(ctx context.Context) error {
	// An expired read deadline wakes connections waiting for their next request; one
	// busy in a handler sees Closing before its next read.
	wake := func(c net.Conn) { c.SetReadDeadline(time.Now()) }
	kill := func(c net.Conn) { c.Close() }
	return s.conns.Shutdown(ctx, wake, kill, s.cancel)
}

// serveConn answers requests on one connection until EOF, idle timeout or shutdown.
func (s *Server) serveConn(c net.Conn, id uint64) {
	defer func() {
		c.Close()
		s.conns.Done(c)
	}()
	log := s.log.With("conn", id)
	defer func() {
		if r := recover(); r != nil {
			log.Error("admin connection panicked", "panic", r, "stack", string(debug.Stack()))
		}
	}()

	cred, authErr := s.authorize(c)
	log = log.With("uid", cred.UID, "pid", cred.PID)
	r := bufio.NewReader(c)
	for {
		c.SetReadDeadline(time.Now().Add(s.idle))
		if s.conns.Closing() {
			return
		}
		line, err := readLine(r, MaxRequestSize)
		if errors.Is(err, errLineTooLong) {
			log.Warn("admin request too large; closing", "limit", MaxRequestSize)
			s.write(c, log, errorResponse(Errorf(CodeTooLarge, "",
				"request larger than %d bytes", MaxRequestSize)))
			return
		}
		if err != nil {
			return // EOF, idle timeout, shutdown: nothing to answer
		}
		if authErr != nil {
			log.Warn("admin connection refused", "gid", cred.GID, "err", authErr)
			s.write(c, log, errorResponse(authErr))
			return
		}
		if !s.write(c, log, s.respond(log, line)) {
			return
		}
	}
}

// authorize identifies the peer and applies the policy. A peer that cannot be identified
// is refused.
func (s *Server) authorize(c net.Conn) (PeerCred, error) {
	cred, err := peercred.Of(c)
	if err != nil {
		s.log.Warn("admin peer credentials unavailable", "err", err)
		return cred, Errorf(CodePermissionDenied, "", "permission denied: cannot identify the peer")
	}
	if err := s.auth.Authorize(cred); err != nil {
		if ErrorCode(err) != CodePermissionDenied {
			err = NewError(CodePermissionDenied, ErrorHint(err), err)
		}
		return cred, err
	}
	return cred, nil
}

// respond decodes, checks and dispatches one request line.
func (s *Server) respond(log *slog.Logger, line []byte) Response {
	req, err := DecodeRequest(line)
	if err != nil {
		return errorResponse(NewError(CodeBadRequest, "", err))
	}
	if req.V != ProtocolVersion {
		return errorResponse(Errorf(CodeUnsupportedVersion,
			"use the postern command from the same release as the running daemon",
			"the daemon speaks admin protocol version %d, the client sent version %d", ProtocolVersion, req.V))
	}
	h, ok := s.handlers[req.Cmd]
	if !ok {
		return errorResponse(Errorf(CodeUnknownCommand,
			"the postern command may be newer than the running daemon",
			"unknown admin command %q", req.Cmd))
	}
	start := time.Now()
	result, err := s.invoke(log, req.Cmd, h, req.Args)
	if err != nil {
		level := slog.LevelInfo
		if ErrorCode(err) == CodeInternal {
			level = slog.LevelError
		}
		log.Log(s.ctx, level, "admin command failed", "cmd", req.Cmd, "err", err, "took", time.Since(start))
		return errorResponse(err)
	}
	log.Info("admin command", "cmd", req.Cmd, "took", time.Since(start))
	if s.after != nil {
		s.after(req.Cmd)
	}
	raw, err := json.Marshal(result)
	if err != nil {
		log.Error("admin result not encodable", "cmd", req.Cmd, "err", err)
		return errorResponse(Errorf(CodeInternal, "", "internal error encoding the result"))
	}
	return Response{V: ProtocolVersion, OK: true, Result: raw}
}

// invoke runs a handler, turning a panic into an internal error so that one bad
// command cannot take the daemon down.
func (s *Server) invoke(log *slog.Logger, cmd string, h handler, args json.RawMessage) (result any, err error) {
	defer func() {
		if r := recover(); r != nil {
			log.Error("admin handler panicked", "cmd", cmd, "panic", r, "stack", string(debug.Stack()))
			result, err = nil, Errorf(CodeInternal, "see the daemon's log", "internal error in %s", cmd)
		}
	}()
	return h(s.ctx, s.backend, args)
}

func errorResponse(err error) Response {
	return Response{V: ProtocolVersion, Error: toWire(err)}
}

// write sends one response line; false means the connection is unusable.
func (s *Server) write(c net.Conn, log *slog.Logger, resp Response) bool {
	b, err := json.Marshal(resp)
	if err != nil {
		log.Error("admin response not encodable", "err", err)
		return false
	}
	c.SetWriteDeadline(time.Now().Add(s.idle))
	if _, err := c.Write(append(b, '\n')); err != nil {
		log.Debug("admin write failed", "err", fmt.Sprint(err))
		return false
	}
	return true
}
