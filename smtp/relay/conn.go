package relay

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/textproto"
	"strings"
	"time"
)

// conn is one SMTP client connection. Not safe for concurrent use: it
// belongs to one Send at a time (or sits in the pool).
type conn struct {
	nc          net.Conn
	tp          *textproto.Conn
	host        string // server name, for logs, RemoteMTA and TLS
	ext         map[string]string
	tls         bool
	authed      bool
	cmdTimeout  time.Duration
	dataTimeout time.Duration
	lastUsed    time.Time
}

func newConn(nc net.Conn, host string, o *Options) *conn {
	c := &conn{host: host, cmdTimeout: o.CommandTimeout, dataTimeout: o.DataTimeout}
	c.setNetConn(nc)
	return c
}

func (c *conn) setNetConn(nc net.Conn) {
	c.nc = nc
	c.tp = textproto.NewConn(nc)
	_, c.tls = nc.(*tls.Conn)
}

func (c *conn) close() { c.nc.Close() }

// watch makes ctx's cancellation interrupt blocked reads and writes.
func (c *conn) watch(ctx context.Context) (stop func() bool) {
	return context.AfterFunc(ctx, func() { c.nc.SetDeadline(time.Unix(1, 0)) })
}

func (c *conn) deadline(d time.Duration) { c.nc.SetDeadline(time.Now().Add(d)) }

// read reads one reply with the command timeout.
func (c *conn) read() (*reply, error) {
	c.deadline(c.cmdTimeout)
	return readReply(&c.tp.Reader)
}

// cmd sends one command line and reads its reply.
func (c *conn) cmd(format string, args ...any) (*reply, error) {
	c.deadline(c.cmdTimeout)
	if err := c.tp.PrintfLine(format, args...); err != nil {
		return nil, err
	}
	return readReply(&c.tp.Reader)
}

// greet reads the server's opening 220 (RFC 5321 section 4.3.1).
func (c *conn) greet() *Error {
	r, err := c.read()
	if err != nil {
		return &Error{Stage: StageGreeting, Host: c.host, Temporary: true, Err: err}
	}
	if r.Code != 220 {
		return replyError(StageGreeting, c.host, r, true)
	}
	return nil
}

// hello sends EHLO and records the extensions; HELO if EHLO is refused as
// unknown (RFC 5321 section 3.2) and TLS is not required.
func (c *conn) hello(name string, needExt bool) *Error {
	r, err := c.cmd("EHLO %s", name)
	if err != nil {
		return &Error{Stage: StageEHLO, Host: c.host, Temporary: true, Err: err}
	}
	if r.Code == 250 {
		c.ext = parseEHLO(r.Lines)
		return nil
	}
	if (r.Code == 500 || r.Code == 502) && !needExt {
		r, err = c.cmd("HELO %s", name)
		if err != nil {
			return &Error{Stage: StageEHLO, Host: c.host, Temporary: true, Err: err}
		}
		if r.Code == 250 {
			c.ext = map[string]string{}
			return nil
		}
	}
	return replyError(StageEHLO, c.host, r, true)
}

// startTLS upgrades the connection (RFC 3207); the caller says EHLO again.
func (c *conn) startTLS(ctx context.Context, cfg *tls.Config) *Error {
	if _, ok := c.ext["STARTTLS"]; !ok {
		return &Error{Stage: StageTLS, Host: c.host, Temporary: true, Text: "server does not offer STARTTLS", Err: errNoStartTLS}
	}
	r, err := c.cmd("STARTTLS")
	if err != nil {
		return &Error{Stage: StageTLS, Host: c.host, Temporary: true, Err: err}
	}
	if r.Code != 220 {
		return replyError(StageTLS, c.host, r, true)
	}
	tc := tls.Client(c.nc, cfg)
	c.deadline(c.cmdTimeout)
	if err := tc.HandshakeContext(ctx); err != nil {
		return &Error{Stage: StageTLS, Host: c.host, Temporary: true, Err: err}
	}
	c.setNetConn(tc)
	c.ext = nil
	return nil
}

var (
	errNoStartTLS    = errors.New("server does not offer STARTTLS")
	errAuthNeedsTLS  = errors.New("refusing to send the password without TLS")
	errNoMechanism   = errors.New("server offers neither AUTH PLAIN nor AUTH LOGIN")
	errAuthNotOffers = errors.New("server does not offer AUTH")
)

// auth authenticates with PLAIN (RFC 4616) if offered, else LOGIN. The
// password is only ever written to the connection, which is TLS unless the
// peer is loopback.
func (c *conn) auth(user, pass string) *Error {
	if !c.tls && !isLoopback(c.nc.RemoteAddr()) {
		return &Error{Stage: StageAuth, Host: c.host, Temporary: true, Err: errAuthNeedsTLS, Text: errAuthNeedsTLS.Error()}
	}
	mechs, ok := c.ext["AUTH"]
	if !ok {
		return &Error{Stage: StageAuth, Host: c.host, Temporary: true, Err: errAuthNotOffers, Text: errAuthNotOffers.Error()}
	}
	var r *reply
	var err error
	switch {
	case hasWord(mechs, "PLAIN"):
		r, err = c.cmd("AUTH PLAIN %s", b64("\x00"+user+"\x00"+pass))
	case hasWord(mechs, "LOGIN"):
		r, err = c.authLogin(user, pass)
	default:
		return &Error{Stage: StageAuth, Host: c.host, Temporary: true, Err: errNoMechanism, Text: errNoMechanism.Error() + " (offers: " + mechs + ")"}
	}
	if err != nil {
		return &Error{Stage: StageAuth, Host: c.host, Temporary: true, Err: err}
	}
	if r.Code != 235 {
		// A refused AUTH is our configuration's problem: temporary, so
		// that mail waits for the fix instead of bouncing.
		return replyError(StageAuth, c.host, r, true)
	}
	c.authed = true
	return nil
}

// authLogin runs the LOGIN mechanism (draft-murchison-sasl-login): the
// server prompts "Username:" then "Password:", base64-encoded. Some servers
// send other prompt texts, so only the order is relied on.
func (c *conn) authLogin(user, pass string) (*reply, error) {
	r, err := c.cmd("AUTH LOGIN")
	for _, answer := range []string{user, pass} {
		if err != nil || r.Code != 334 {
			return r, err
		}
		r, err = c.cmd("%s", b64(answer))
	}
	return r, err
}

func hasWord(list, w string) bool {
	for _, f := range strings.Fields(list) {
		if strings.EqualFold(f, w) {
			return true
		}
	}
	return false
}

func isLoopback(a net.Addr) bool {
	if ta, ok := a.(*net.TCPAddr); ok {
		return ta.IP.IsLoopback()
	}
	return false
}

// replyError turns a refusing reply into an *Error. temporary forces the
// error temporary whatever the code (see Error).
func replyError(stage Stage, host string, r *reply, temporary bool) *Error {
	return &Error{Stage: stage, Host: host, Code: r.Code, Enhanced: r.Enhanced, Text: r.Text,
		Temporary: temporary || r.temporary()}
}

// transaction sends one message (RFC 5321 section 3.3). With PIPELINING
// (RFC 2920) MAIL, every RCPT and DATA go in one write and the replies are
// read after, so a message costs two round trips instead of 3+n.
//
// It returns one Result per recipient, or an *Error for a failure that
// concerns them all. reusable says whether the connection is still in a
// known state (the transaction ended or was reset).
func (c *conn) transaction(env Envelope, body io.Reader, size int64) (results []Result, err *Error, reusable bool) {
	mail := "MAIL FROM:<" + env.From + ">"
	if _, ok := c.ext["8BITMIME"]; ok {
		mail += " BODY=8BITMIME" // RFC 6152
	}
	if _, ok := c.ext["SIZE"]; ok && size > 0 {
		mail += fmt.Sprintf(" SIZE=%d", size) // RFC 1870
	}
	if needsUTF8(env) {
		if _, ok := c.ext["SMTPUTF8"]; !ok {
			return nil, &Error{Stage: StageMail, Host: c.host, Code: 553, Enhanced: "5.6.7",
				Text: "non-ASCII address and the server does not offer SMTPUTF8 (RFC 6531)"}, true
		}
		mail += " SMTPUTF8"
	}
	_, pipelining := c.ext["PIPELINING"]
	c.deadline(c.cmdTimeout)
	w := c.tp.W
	write := func(line string) { w.WriteString(line); w.WriteString("\r\n") }
	results = make([]Result, len(env.Rcpts))
	netErr := func(stage Stage, e error) ([]Result, *Error, bool) {
		return nil, &Error{Stage: stage, Host: c.host, Temporary: true, Err: e}, false
	}

	// MAIL
	write(mail)
	if pipelining {
		for _, rc := range env.Rcpts {
			write("RCPT TO:<" + rc + ">")
		}
		write("DATA")
	}
	if e := w.Flush(); e != nil {
		return netErr(StageMail, e)
	}
	r, e := c.read()
	if e != nil {
		return netErr(StageMail, e)
	}
	mailReply := r
	// RCPT
	accepted := 0
	for i, rc := range env.Rcpts {
		if !pipelining {
			if !mailReply.positive() {
				break
			}
			write("RCPT TO:<" + rc + ">")
			if e := w.Flush(); e != nil {
				return netErr(StageRcpt, e)
			}
		}
		r, e := c.read()
		if e != nil {
			return netErr(StageRcpt, e)
		}
		results[i] = c.result(rc, r)
		if r.Code/100 == 2 {
			accepted++
		}
	}
	if !mailReply.positive() {
		if pipelining {
			c.read() // DATA's 503
		}
		c.reset()
		return nil, replyError(StageMail, c.host, mailReply, false), c.alive(mailReply)
	}
	// DATA
	if !pipelining && accepted > 0 {
		write("DATA")
		if e := w.Flush(); e != nil {
			return netErr(StageData, e)
		}
	}
	var dataReply *reply
	if pipelining || accepted > 0 {
		dataReply, e = c.read()
		if e != nil {
			return netErr(StageData, e)
		}
	}
	if accepted == 0 {
		if dataReply != nil && dataReply.Code == 354 {
			// RFC 2920 section 3.1: DATA accepted without recipients; end it empty.
			write(".")
			w.Flush()
			c.read()
		}
		c.reset()
		return results, nil, true
	}
	if dataReply.Code != 354 {
		c.reset()
		return nil, replyError(StageData, c.host, dataReply, false), c.alive(dataReply)
	}
	c.deadline(c.dataTimeout)
	dw := c.tp.DotWriter()
	cw := &bareCRWriter{w: dw}
	if _, e := io.Copy(cw, bufio.NewReaderSize(body, 32*1024)); e != nil {
		return netErr(StageData, e)
	}
	if e := cw.finish(); e != nil {
		return netErr(StageData, e)
	}
	if e := dw.Close(); e != nil {
		return netErr(StageData, e)
	}
	c.nc.SetDeadline(time.Now().Add(c.dataTimeout))
	final, e := readReply(&c.tp.Reader)
	if e != nil {
		return netErr(StageData, e)
	}
	for i, rc := range env.Rcpts {
		if results[i].Code/100 == 2 {
			results[i] = c.result(rc, final)
		}
	}
	if final.Code/100 != 2 {
		return results, replyError(StageData, c.host, final, false), c.alive(final)
	}
	return results, nil, c.alive(final)
}

// alive: after a 421 the server closes the connection (RFC 5321 section 3.8).
func (c *conn) alive(r *reply) bool { return r.Code != 421 }

// reset sends RSET to abandon a transaction (RFC 5321 section 4.1.1.5).
func (c *conn) reset() bool {
	r, err := c.cmd("RSET")
	return err == nil && r.Code == 250
}

func (c *conn) quit() {
	c.nc.SetDeadline(time.Now().Add(time.Second))
	c.cmd("QUIT")
	c.nc.Close()
}

func (c *conn) result(rcpt string, r *reply) Result {
	return Result{Rcpt: rcpt, Code: r.Code, Enhanced: r.Enhanced, Text: r.Text,
		Temporary: r.Code/100 != 2 && r.Code/100 != 5, RemoteMTA: c.host}
}

func needsUTF8(env Envelope) bool {
	for _, s := range append([]string{env.From}, env.Rcpts...) {
		for i := 0; i < len(s); i++ {
			if s[i] >= 0x80 {
				return true
			}
		}
	}
	return false
}
