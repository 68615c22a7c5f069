package smtp

import (
	"context"
	"fmt"
	"log/slog"
	"runtime/debug"

	gosmtp "github.com/emersion/go-smtp"
)

// session is one go-smtp session: it starts at HELO/EHLO/LHLO and, after STARTTLS,
// a new one starts at the next EHLO (RFC 3207 section 4.2: forget what came
// before TLS). Connection-wide state lives in conn.
type session struct {
	srv  *Server
	c    *conn
	gc   *gosmtp.Conn
	info Session

	// The transaction in progress.
	txn      int // transactions started in this session, for the envelope id
	from     string
	fromSet  bool
	body8bit bool
	utf8     bool
	rcpts    []string // normalised, for the Envelope and the Policy
	raw      []string // as go-smtp has them, for LMTP's per-recipient status

	// prepare, when set (submission), checks and fixes the received message
	// before delivery; it returns the message to deliver or the reply.
	prepare func(env *Envelope, msg Message) (Message, *ReplyError)
}

// sessionPanic is re-panicked after a callback's panic was logged, so that
// go-smtp answers 421 and closes only this connection; libLogger drops go-smtp's
// own report of it.
type sessionPanic struct{ value any }

func (p sessionPanic) String() string { return fmt.Sprint(p.value) }

// guard recovers a panic in a callback, logs it with the stack, and panics again
// with a sessionPanic for go-smtp to close the connection. Every callback defers it.
func (s *session) guard(stage string) {
	v := recover()
	if v == nil {
		return
	}
	if sp, ok := v.(sessionPanic); ok {
		panic(sp) // already logged by an inner guard
	}
	s.c.log(slog.LevelError, "panic", slog.String(KeyStage, stage),
		slog.String(KeyPanic, fmt.Sprint(v)), slog.String(KeyStack, string(debug.Stack())))
	panic(sessionPanic{v})
}

func (srv *Server) newSession(gc *gosmtp.Conn) (_ gosmtp.Session, err error) {
	c := connOf(gc)
	if c == nil {
		return nil, fmt.Errorf("smtp: connection not accepted through Server.Serve")
	}
	s := &session{srv: srv, c: c, gc: gc}
	defer s.guard("helo")
	s.info = Session{
		ID:         c.id,
		Role:       srv.opts.Role,
		RemoteAddr: c.remote,
		Trusted:    c.trusted,
		HELO:       gc.Hostname(),
		ESMTP:      true,
		Hostname:   srv.opts.Hostname,
		Start:      c.start,
	}
	if st, ok := gc.TLSConnectionState(); ok {
		s.info.TLS = &st
	}
	if srv.opts.Role == RoleMX {
		s.info.ReverseName = c.reverseName()
	}
	if r := s.checkHELO(s.info.HELO); r != nil {
		s.reject("helo", r, "")
		return nil, r.toLibrary()
	}
	tlsVersion, cipher := "", ""
	if s.info.TLS != nil {
		tlsVersion = tls13Name(s.info.TLS.Version)
		cipher = tlsCipherName(s.info.TLS.CipherSuite)
	}
	rdns := s.info.ReverseName
	if rdns == "" {
		rdns = "unknown"
	}
	c.log(slog.LevelInfo, "helo", slog.String(KeyHELO, s.info.HELO), slog.String(KeyRDNS, rdns),
		slog.String(KeyTLS, tlsVersion), slog.String(KeyCipher, cipher))
	if srv.opts.Role.isSubmission() {
		return newSubmissionSession(s), nil
	}
	return s, nil
}

// Mail starts a transaction (MAIL FROM).
func (s *session) Mail(from string, opts *gosmtp.MailOptions) error {
	defer s.guard("mail")
	if s.fromSet {
		// go-smtp would keep the earlier recipients; RFC 5321 section 4.1.4 wants
		// RSET first, as Postfix does.
		s.reject("mail", errNestedMail, from)
		return errNestedMail.toLibrary()
	}
	// A second EHLO in the same session (RFC 5321 section 4.1.4) does not create a
	// new go-smtp session, so its name is checked here.
	if name := s.gc.Hostname(); name != s.info.HELO {
		if r := s.checkHELO(name); r != nil {
			s.reject("mail", r, from)
			return r.toLibrary()
		}
		s.info.HELO = name
	}
	if opts.Size > s.srv.opts.MaxMessageBytes {
		s.reject("mail", errSizeParam, from)
		return errSizeParam.toLibrary()
	}
	norm, r := s.checkSender(from, opts.UTF8)
	if r != nil {
		s.reject("mail", r, from)
		return r.toLibrary()
	}
	if rl := s.srv.opts.RateLimiter; rl != nil {
		if err := rl.Message(&s.info); err != nil {
			r := asReply(err)
			s.reject("mail", r, from)
			return r.toLibrary()
		}
	}
	s.from, s.fromSet = norm, true
	s.body8bit = opts.Body == gosmtp.Body8BitMIME
	s.utf8 = opts.UTF8
	return nil
}

// Rcpt adds a recipient (RCPT TO) after asking the Policy.
func (s *session) Rcpt(to string, _ *gosmtp.RcptOptions) error {
	defer s.guard("rcpt")
	if len(s.rcpts) >= s.srv.opts.MaxRecipients {
		s.reject("rcpt", errTooManyRcpts, s.from, to)
		return errTooManyRcpts.toLibrary()
	}
	addr, err := ParseAddress(to, s.utf8)
	if err != nil {
		r := addressReply(err, "Recipient", 3)
		s.reject("rcpt", r, s.from, to)
		return r.toLibrary()
	}
	norm := addr.String()
	if r := s.c.clientVerdict(); r != nil {
		s.reject("rcpt", r, s.from, norm)
		return r.toLibrary()
	}
	if rl := s.srv.opts.RateLimiter; rl != nil {
		if err := rl.Recipient(&s.info); err != nil {
			r := asReply(err)
			s.reject("rcpt", r, s.from, norm)
			return r.toLibrary()
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), s.srv.opts.CommandTimeout)
	defer cancel()
	if err := s.srv.opts.Policy.CheckRecipient(ctx, &s.info, s.from, norm); err != nil {
		r := asReply(err)
		if r == errInternal {
			s.c.log(slog.LevelError, "policy error", slog.String(KeyTo, norm), slog.String(KeyReason, err.Error()))
		}
		s.reject("rcpt", r, s.from, norm)
		return r.toLibrary()
	}
	s.rcpts = append(s.rcpts, norm)
	s.raw = append(s.raw, to)
	s.c.rcpts.Add(1)
	return nil
}

// Reset ends the transaction (RSET, a new EHLO, or the end of DATA).
func (s *session) Reset() {
	defer s.guard("rset")
	s.resetTxn()
}

// Logout is called when the session ends. go-smtp calls it outside its panic
// recovery, so it must never panic; the disconnect line is written by conn.Close.
func (s *session) Logout() error { return nil }

func (s *session) resetTxn() {
	s.from, s.fromSet, s.body8bit, s.utf8 = "", false, false, false
	s.rcpts, s.raw = nil, nil
}
