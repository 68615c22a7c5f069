package smtp

import (
	"bytes"
	"context"
	"errors"
	"github.com/postern/postern/event"
	"unicode/utf8"

	"github.com/emersion/go-sasl"
)

// Authenticator checks the credentials given in AUTH on the submission roles.
// server/ implements it over the user store.
type Authenticator interface {
	// Authenticate checks a login; it applies the failed-login limiter and logs.
	// It returns the canonical user address, or an error: a *ReplyError for a
	// specific reply (e.g. 454 4.7.0 temporary lockout), anything else means
	// 535 5.7.8 bad credentials.
	Authenticate(ctx context.Context, s *Session, username, password string) (user string, err error)
}

// SASL mechanisms offered after TLS: PLAIN (RFC 4616) and the de-facto LOGIN
// (draft-murchison-sasl-login), which Outlook and many scripts still use.
const (
	mechPlain = "PLAIN"
	mechLogin = "LOGIN"
)

// maxCredential bounds a username or password in octets. RFC 4616 section 2
// asks servers to accept at least 255 octets for each; more is never a real
// login, and the Authenticator (argon2) should not be fed megabytes.
const maxCredential = 1024

// The LOGIN challenges: base64 of these is "VXNlcm5hbWU6" and "UGFzc3dvcmQ6",
// the lines every LOGIN client expects.
var (
	loginUsername = []byte("Username:")
	loginPassword = []byte("Password:")
)

// The AUTH replies (RFC 4954 section 6 for the codes).
var (
	errAuthTLSFirst  = &ReplyError{530, [3]int{5, 7, 0}, "Must issue a STARTTLS command first"}
	errAuthRequired  = &ReplyError{530, [3]int{5, 7, 0}, "Authentication required"}
	errAuthFailed    = &ReplyError{535, [3]int{5, 7, 8}, "Authentication credentials invalid"}
	errAuthTooMany   = &ReplyError{421, [3]int{4, 7, 0}, "Error: too many failed authentication attempts"}
	errAuthMechanism = &ReplyError{504, [3]int{5, 5, 4}, "Unsupported authentication mechanism"}
	errAuthInTxn     = &ReplyError{503, [3]int{5, 5, 1}, "Error: MAIL transaction in progress"}
	errAuthSequence  = &ReplyError{503, [3]int{5, 5, 1}, "Error: unexpected authentication response"}
)

// checkFunc receives the credentials of one AUTH exchange; ok is false when the
// client's response was malformed (it still counts as a failed attempt).
type checkFunc func(username, password string, ok bool) error

// AuthMechanisms lists what EHLO advertises: nothing before TLS, so that no
// client is tempted to send a password in clear (RFC 4954 section 4, RFC 3207
// section 4.2: capabilities are announced again after STARTTLS).
func (s *submissionSession) AuthMechanisms() []string {
	if s.info.TLS == nil {
		return nil
	}
	return []string{mechPlain, mechLogin}
}

// Auth starts an AUTH exchange (RFC 4954). go-smtp drives it and answers 235
// when the returned sasl.Server is done without error; an error is written as
// its reply.
func (s *submissionSession) Auth(mech string) (sasl.Server, error) {
	defer s.guard("auth")
	var refuse *ReplyError
	switch {
	case s.info.TLS == nil:
		refuse = errAuthTLSFirst
	case s.fromSet:
		// RFC 4954 section 4: AUTH is not permitted during a mail transaction.
		refuse = errAuthInTxn
	case mech != mechPlain && mech != mechLogin:
		refuse = errAuthMechanism
	}
	if refuse != nil {
		s.reject("auth", refuse, "")
		return nil, refuse.toLibrary()
	}
	check := func(username, password string, ok bool) error {
		return s.authenticate(mech, username, password, ok)
	}
	if mech == mechPlain {
		return &plainServer{check: check}, nil
	}
	return &loginServer{check: check}, nil
}

// authenticate checks one set of credentials through the Authenticator, logs
// the "auth" line, and counts failures. The failure that reaches
// MaxAuthFailures is answered 421 and the connection is closed after it.
func (s *submissionSession) authenticate(mech, username, password string, ok bool) error {
	defer s.guard("auth")
	ok = ok && validCredential(username) && validCredential(password)
	var err error
	if ok {
		ctx, cancel := context.WithTimeout(context.Background(), s.srv.opts.CommandTimeout)
		var user string
		user, err = s.srv.opts.Authenticator.Authenticate(ctx, &s.info, username, password)
		cancel()
		if err == nil && user != "" {
			s.info.User = user
			s.c.loggedIn()
			s.c.report(event.Login{Service: s.srv.opts.Role.Listener(), User: user, OK: true, Mech: mech})
			return nil
		}
	}
	r := errAuthFailed
	var re *ReplyError
	if errors.As(err, &re) {
		r = re
	}
	if int(s.c.authFails.Add(1)) >= s.srv.opts.MaxAuthFailures {
		r = errAuthTooMany
		s.c.hangUp.Store(true)
	}
	s.c.rejects.Add(1)
	s.c.report(event.Login{Service: s.srv.opts.Role.Listener(), User: username, Mech: mech,
		Code: r.Code, Enhanced: r.EnhancedString(), Reason: r.Message})
	return r.toLibrary()
}

// validCredential refuses what no login can contain: NUL (the PLAIN
// separator), invalid UTF-8 (RFC 4616 section 2), an empty or huge value.
func validCredential(s string) bool {
	return s != "" && len(s) <= maxCredential && utf8.ValidString(s) && !bytes.ContainsRune([]byte(s), 0)
}

// plainServer is the server side of SASL PLAIN (RFC 4616): one message
// "authzid NUL authcid NUL passwd", sent as the initial response (RFC 4954
// section 4) or after an empty challenge.
type plainServer struct {
	check checkFunc
	done  bool
}

func (p *plainServer) Next(resp []byte) (challenge []byte, done bool, err error) {
	if p.done {
		return nil, false, errAuthSequence.toLibrary()
	}
	if resp == nil {
		return []byte{}, false, nil // "334 " asks for the response
	}
	p.done = true
	username, password, ok := splitPlain(resp)
	return nil, true, p.check(username, password, ok)
}

// splitPlain parses a PLAIN message. An authorization identity other than the
// authentication identity itself (acting as someone else) is not supported and
// makes the message malformed.
func splitPlain(resp []byte) (username, password string, ok bool) {
	authz, rest, found := bytes.Cut(resp, []byte{0})
	if !found {
		return "", "", false
	}
	authc, passwd, found := bytes.Cut(rest, []byte{0})
	if !found || bytes.IndexByte(passwd, 0) >= 0 {
		return "", "", false
	}
	if len(authz) > 0 && !bytes.Equal(authz, authc) {
		return string(authc), "", false
	}
	return string(authc), string(passwd), true
}

// loginServer is the server side of the LOGIN mechanism: "334 Username:" and
// "334 Password:" challenges, each answered with one base64 line. A client may
// send the username as the initial response ("AUTH LOGIN dXNlcg==").
type loginServer struct {
	check    checkFunc
	step     int // 0 start, 1 username asked, 2 password asked, 3 done
	username string
}

func (l *loginServer) Next(resp []byte) (challenge []byte, done bool, err error) {
	switch l.step {
	case 0:
		if resp == nil {
			l.step = 1
			return loginUsername, false, nil
		}
		l.username, l.step = string(resp), 2
		return loginPassword, false, nil
	case 1:
		l.username, l.step = string(resp), 2
		return loginPassword, false, nil
	case 2:
		l.step = 3
		return nil, true, l.check(l.username, string(resp), true)
	}
	return nil, false, errAuthSequence.toLibrary()
}
