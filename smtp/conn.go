package smtp

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"log/slog"
	"net"
	"net/netip"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	gosmtp "github.com/emersion/go-smtp"
	"github.com/postern/postern/event"
)

// conn wraps each accepted net.Conn. It is where this package adds what go-smtp
// has no hook for:
//
//   - a read deadline set before every Read (the idle timeout is per read, RFC 5321
//     section 4.5.3.2; go-smtp only sets one per command line, which would put a
//     single deadline over a whole DATA transfer);
//   - sticky timeouts, so a timed-out client is not waited for again while go-smtp
//     drains the rest of a DATA;
//   - the banner text (go-smtp appends "Service Ready");
//   - the per-connection statistics and the one "disconnect" log line.
//
// After STARTTLS go-smtp wraps a *tls.Conn around this conn, so it keeps working
// below TLS.
type conn struct {
	net.Conn
	srv     *Server
	id      string
	remote  netip.AddrPort // zero for unix-socket peers
	release func()         // frees the ConnLimiter slot; nil without one
	trusted bool
	start   time.Time

	inData   atomic.Bool // message text is being read
	wroteAny atomic.Bool // the banner has been written

	errMu  sync.Mutex
	stuck  error // a timeout; returned by every later Read
	closed sync.Once

	// loginTimer closes a submission connection that has not authenticated within
	// Options.LoginTimeout; stopped by the first successful AUTH.
	loginTimer *time.Timer

	rdnsOnce sync.Once
	rdns     string

	// verdict waits for Options.ClientCheck's answer about this client.
	verdict func() *ReplyError

	msgs, rcpts, rejects atomic.Int64

	// authFails counts failed AUTH attempts over the whole connection, so that
	// neither EHLO nor STARTTLS resets it.
	authFails atomic.Int32
	// hangUp makes the next Write the last: the connection is closed after it
	// (the 421 reply to too many failed AUTH attempts). Below TLS the reply is
	// one record, written in one Write.
	hangUp atomic.Bool

	// dotScan watches the raw DATA stream for CRLF "." CR followed by anything
	// but LF: go-smtp's reader drops that CR, so textChecker cannot see it.
	// Meaningful only without TLS (below TLS this conn sees ciphertext).
	scanMu   sync.Mutex
	scanSt   int
	dotCRBad bool
}

// States of the raw dot scan.
const (
	scanMid = iota
	scanCR
	scanLineStart
	scanDot
	scanDotCR
)

// startDotScan is called when message text starts: the stream is at a line start.
func (c *conn) startDotScan() {
	c.scanMu.Lock()
	c.scanSt, c.dotCRBad = scanLineStart, false
	c.scanMu.Unlock()
}

// sawDotCR reports whether the scan found a bare CR after a line-initial dot.
func (c *conn) sawDotCR() bool {
	c.scanMu.Lock()
	defer c.scanMu.Unlock()
	return c.dotCRBad
}

func (c *conn) scan(p []byte) {
	c.scanMu.Lock()
	defer c.scanMu.Unlock()
	st := c.scanSt
	for _, b := range p {
		switch {
		case st == scanDotCR && b != '\n':
			c.dotCRBad = true
			st = scanMid
		case st == scanDotCR:
			st = scanLineStart
		case st == scanDot && b == '\r':
			st = scanDotCR
		case st == scanLineStart && b == '.':
			st = scanDot
		case st == scanCR && b == '\n':
			st = scanLineStart
		default:
			st = scanMid
		}
		if b == '\r' && st == scanMid {
			st = scanCR
		}
	}
	c.scanSt = st
}

func (c *conn) Read(p []byte) (int, error) {
	c.errMu.Lock()
	stuck := c.stuck
	c.errMu.Unlock()
	if stuck != nil {
		return 0, stuck
	}
	d := c.srv.opts.CommandTimeout
	stage := "command"
	if c.inData.Load() {
		d, stage = c.srv.opts.DataTimeout, "data"
	}
	if err := c.Conn.SetReadDeadline(time.Now().Add(d)); err != nil {
		return 0, err
	}
	n, err := c.Conn.Read(p)
	if n > 0 && c.inData.Load() {
		c.scan(p[:n])
	}
	var ne net.Error
	if err != nil && errors.As(err, &ne) && ne.Timeout() {
		c.errMu.Lock()
		first := c.stuck == nil
		c.stuck = err
		c.errMu.Unlock()
		if first {
			c.log(slog.LevelInfo, "timeout", slog.String("stage", stage), slog.Duration("after", d))
		}
	}
	return n, err
}

// Write rewrites go-smtp's greeting "220 host ESMTP Service Ready" to the plain
// "220 host ESMTP": the banner names no software (nor filler text).
func (c *conn) Write(p []byte) (int, error) {
	if !c.wroteAny.Swap(true) {
		if q, ok := bytes.CutSuffix(p, []byte(" Service Ready\r\n")); ok && bytes.HasPrefix(p, []byte("220 ")) {
			banner := append(slices.Clip(q), '\r', '\n')
			if _, err := c.Conn.Write(banner); err != nil {
				return 0, err
			}
			return len(p), nil
		}
	}
	n, err := c.Conn.Write(p)
	if c.hangUp.Load() {
		// go-smtp's next read then ends with net.ErrClosed and it closes the
		// session quietly; Close still runs once and logs the disconnect.
		c.Conn.Close()
	}
	return n, err
}

// startLoginTimer arms the submission login timeout.
func (c *conn) startLoginTimer() {
	d := c.srv.opts.LoginTimeout
	if d <= 0 || !c.srv.opts.Role.isSubmission() {
		return
	}
	c.loginTimer = time.AfterFunc(d, func() {
		// No reply: go-smtp may be writing one, and on 465 this conn is below TLS.
		c.report(event.Rejected{Service: c.srv.opts.Role.Listener(), Session: c.id, Stage: "auth", Reason: "login timeout"})
		c.Conn.Close()
	})
}

// loggedIn stops the login timeout.
func (c *conn) loggedIn() {
	if c.loginTimer != nil {
		c.loginTimer.Stop()
	}
}

// Close closes the connection once, releases its slot and writes "disconnect".
func (c *conn) Close() error {
	err := net.ErrClosed
	c.closed.Do(func() {
		err = c.Conn.Close()
		c.srv.release(c)
		c.log(slog.LevelInfo, "disconnect",
			slog.Int64("duration_ms", c.srv.opts.Now().Sub(c.start).Milliseconds()),
			slog.Int64("msgs", c.msgs.Load()),
			slog.Int64("rcpts", c.rcpts.Load()),
			slog.Int64("rejects", c.rejects.Load()))
	})
	return err
}

// clientString is the "client" log value: the IP address, or "unix".
func (c *conn) clientString() string {
	if !c.remote.IsValid() {
		return "unix"
	}
	return c.remote.Addr().String()
}

func (c *conn) log(level slog.Level, msg string, attrs ...slog.Attr) {
	attrs = append([]slog.Attr{slog.String(KeySession, c.id), slog.String(KeyClient, c.clientString())}, attrs...)
	c.srv.opts.Logger.LogAttrs(context.Background(), level, msg, attrs...)
}

// reverseName looks up the client's PTR name once and keeps it only when it
// resolves back to the client's address (forward-confirmed), as Postfix does;
// otherwise the client is "unknown".
func (c *conn) reverseName() string {
	c.rdnsOnce.Do(func() {
		rr, ok := c.srv.opts.Resolver.(ReverseResolver)
		if !ok || !c.remote.IsValid() {
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), c.srv.opts.LookupTimeout)
		defer cancel()
		ip := c.remote.Addr()
		names, err := rr.LookupAddr(ctx, ip.String())
		if err != nil || len(names) == 0 {
			return
		}
		name := trimDot(names[0])
		addrs, err := c.srv.opts.Resolver.LookupHost(ctx, name)
		if err != nil {
			return
		}
		for _, a := range addrs {
			if pa, err := netip.ParseAddr(a); err == nil && pa.Unmap() == ip {
				c.rdns = name
				return
			}
		}
	})
	return c.rdns
}

func trimDot(s string) string {
	if len(s) > 1 && s[len(s)-1] == '.' {
		return s[:len(s)-1]
	}
	return s
}

// connOf finds our conn under go-smtp's connection (below TLS after STARTTLS).
func connOf(gc *gosmtp.Conn) *conn {
	nc := gc.Conn()
	if tc, ok := nc.(*tls.Conn); ok {
		nc = tc.NetConn()
	}
	c, _ := nc.(*conn)
	return c
}
