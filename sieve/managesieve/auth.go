package managesieve

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/base64"
	"errors"
	"github.com/postern/postern/event"
	"strings"
	"time"
)

// capabilities writes the capability lines of RFC 5804 section 1.7. SASL is empty and
// STARTTLS offered until TLS is up, so that no client sends a password in clear.
func (sess *session) capabilities() {
	o := sess.srv.opts
	line := func(k, v string) {
		sess.write(quote(k))
		if v != "" || k == "SASL" {
			sess.write(" " + quote(v))
		}
		sess.write("\r\n")
	}
	line("IMPLEMENTATION", "Postern")
	sasl := ""
	if sess.tls {
		sasl = "PLAIN"
	}
	line("SASL", sasl)
	line("SIEVE", strings.Join(o.Extensions, " "))
	if !sess.tls && o.TLSConfig != nil {
		line("STARTTLS", "")
	}
	if sess.user != "" {
		// OWNER: the logged-in user, once authenticated (section 1.7).
		line("OWNER", sess.user)
	}
	line("MAXREDIRECTS", "4")
	line("UNAUTHENTICATE", "")
	line("VERSION", "1.0")
}

func (sess *session) cmdCapability([]arg) bool {
	sess.capabilities()
	sess.ok("Capability completed.")
	return false
}

// cmdStartTLS switches to TLS (RFC 5804 section 2.2) and re-issues the capabilities.
func (sess *session) cmdStartTLS([]arg) bool {
	cfg := sess.srv.opts.TLSConfig
	if cfg == nil || sess.tls {
		sess.no("", "STARTTLS is not available.")
		return !sess.badCommand()
	}
	// Anything the client sent after STARTTLS in the same packet would be read as if
	// it came over TLS: refuse such command injection outright.
	if sess.r.Buffered() > 0 {
		sess.bye("Data after STARTTLS.")
		return true
	}
	sess.ok("Begin TLS negotiation now.")
	if sess.flush() != nil {
		return true
	}
	tc := tls.Server(sess.conn(), cfg)
	ctx, cancel := context.WithTimeout(sess.ctx, 30*time.Second)
	defer cancel()
	if err := tc.HandshakeContext(ctx); err != nil {
		sess.log.Info("managesieve: TLS handshake failed", "err", err)
		return true
	}
	sess.mu.Lock()
	sess.c = tc
	sess.mu.Unlock()
	sess.r.Reset(tc)
	sess.w.Reset(tc)
	sess.tls = true
	sess.capabilities()
	sess.ok("TLS negotiation successful.")
	return false
}

// cmdAuthenticate runs SASL PLAIN (RFC 4616) inside AUTHENTICATE (RFC 5804 section
// 2.1), only over TLS.
func (sess *session) cmdAuthenticate(args []arg) bool {
	if !sess.tls {
		sess.no(codeEncryptNeeded, "Authentication requires TLS: use STARTTLS first.")
		return false
	}
	if !strings.EqualFold(args[0].s, "PLAIN") {
		sess.no("", "Unsupported SASL mechanism "+clip(args[0].s)+".")
		return false
	}
	var resp string
	if len(args) == 2 {
		resp = args[1].s
	} else {
		// An empty server challenge; the client answers with one string.
		sess.write("\"\"\r\n")
		if sess.flush() != nil {
			return true
		}
		resps, err := readArgs(sess.r, limits{maxLine: maxLine, maxLiteral: maxLine, maxArgs: 1})
		if err != nil {
			return !sess.readFailed(err)
		}
		if len(resps) != 1 || resps[0].kind != argString {
			sess.no("", "Expected one SASL response string.")
			return false
		}
		resp = resps[0].s
		if resp == "*" {
			sess.no("", "Authentication aborted.")
			return false
		}
	}
	user, err := sess.plain(resp)
	if err != nil {
		sess.authFails++
		sess.report(event.Login{Service: "managesieve", Reason: err.Error()})
		if sess.authFails >= maxAuthFailures {
			sess.bye("Too many failed logins.")
			return true
		}
		sess.no("", "Authentication failed.")
		return false
	}
	sess.user = user
	if sess.login != nil {
		sess.login.Stop()
	}
	sess.log = sess.baseLog.With("user", user)
	sess.report(event.Login{Service: "managesieve", User: user, OK: true})
	sess.ok("Logged in.")
	return false
}

var errBadPlain = errors.New("malformed SASL PLAIN response")

// plain decodes "authzid NUL authcid NUL password" and checks it. An authorization
// identity other than the login itself (acting as another user) is refused.
func (sess *session) plain(b64 string) (string, error) {
	raw, err := base64.StdEncoding.DecodeString(b64)
	if err != nil {
		return "", errBadPlain
	}
	parts := bytes.Split(raw, []byte{0})
	if len(parts) != 3 || len(parts[1]) == 0 {
		return "", errBadPlain
	}
	authz, authc, pw := string(parts[0]), string(parts[1]), string(parts[2])
	if authz != "" && !strings.EqualFold(authz, authc) {
		return "", errors.New("authorization identity differs from the login")
	}
	return sess.srv.opts.Authenticator.Authenticate(sess.ctx, sess.conn().RemoteAddr(), authc, pw)
}

// cmdUnauthenticate returns to the non-authenticated state (RFC 5804 section 2.14.1).
func (sess *session) cmdUnauthenticate([]arg) bool {
	sess.log.Info("managesieve: logged out")
	sess.user = ""
	sess.log = sess.baseLog
	sess.ok("Unauthenticated.")
	return false
}

// report writes the log line of a login (on success the session's logger already names
// the user; a failure counts the session's failures) and emits it: the line and what the
// metrics count are the one value.
func (sess *session) report(e event.Login) {
	if e.OK {
		sess.log.Info("managesieve: logged in")
	} else {
		sess.log.Info("managesieve: authentication failed", "err", e.Reason, "failures", sess.authFails)
	}
	if sess.srv.opts.Events != nil {
		sess.srv.opts.Events.Emit(e)
	}
}
