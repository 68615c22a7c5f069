package relay

import (
	"context"
	"crypto/tls"
	"errors"
	"io"
	"log/slog"
	"net"
	"strconv"
	"sync"
)

// Client hands messages to the smart host, or directly to MX hosts when
// Options.Host is empty. It keeps a small pool of idle connections so that
// consecutive messages skip the connect, TLS and AUTH round trips. Safe for
// concurrent use: each Send uses its own connection.
type Client struct {
	opts Options
	log  *slog.Logger

	mu   sync.Mutex
	idle map[string][]*conn // by "host:port"
	done bool
}

// New checks opts and returns a Client. It does not connect.
func New(opts Options) (*Client, error) {
	if err := opts.setDefaults(); err != nil {
		return nil, err
	}
	log := opts.Logger.With(slog.String("component", "relay"))
	if opts.Host != "" && opts.InsecureSkipVerify && opts.TLS != TLSNone {
		log.Warn("relay certificate will NOT be verified (encrypt without verify): anyone on the path can read the relay password",
			slog.String("relay", opts.Host))
	}
	if opts.Host != "" && opts.TLS == TLSNone {
		log.Warn("relay connection without TLS: only acceptable for a relay on this host", slog.String("relay", opts.Host))
	}
	return &Client{opts: opts, log: log, idle: make(map[string][]*conn)}, nil
}

// Close closes the pooled connections (politely, with QUIT).
func (cl *Client) Close() error {
	cl.mu.Lock()
	cl.done = true
	var all []*conn
	for k, cs := range cl.idle {
		all = append(all, cs...)
		delete(cl.idle, k)
	}
	cl.mu.Unlock()
	for _, c := range all {
		c.quit()
	}
	return nil
}

// Send delivers one message to every recipient in env and returns one
// Result per recipient, in env.Rcpts order. body must be the complete
// message text; it is read again (Seek to 0) when the transaction has to be
// repeated (a pooled connection that turned out dead, several MX domains).
//
// The error is non-nil when something failed for all recipients of a
// transaction (see Error for which are temporary); the Results then carry
// it too, so callers may look only at the Results.
func (cl *Client) Send(ctx context.Context, env Envelope, body io.ReadSeeker) ([]Result, error) {
	if len(env.Rcpts) == 0 {
		return nil, errors.New("relay: no recipients")
	}
	if cl.opts.Host == "" {
		return cl.sendDirect(ctx, env, body)
	}
	addr := net.JoinHostPort(cl.opts.Host, strconv.Itoa(cl.opts.Port))
	res, err := cl.sendVia(ctx, cl.opts.Host, addr, smartPolicy(cl.opts.TLS), env, body)
	if err != nil {
		return res, err
	}
	return res, nil
}

// tlsPolicy is how a connection uses TLS.
type tlsPolicy int

const (
	policyNone          tlsPolicy = iota
	policyOpportunistic           // STARTTLS if offered, unverified (RFC 7435); MX delivery
	policyStartTLS                // STARTTLS required and verified
	policyImplicit                // TLS first, verified
)

func smartPolicy(m TLSMode) tlsPolicy {
	switch m {
	case TLSImplicit:
		return policyImplicit
	case TLSNone:
		return policyNone
	}
	return policyStartTLS
}

// sendVia runs one transaction on a pooled or new connection to addr. A
// pooled connection that fails before any reply is read was closed by the
// server while idle: the transaction is repeated once on a new connection.
func (cl *Client) sendVia(ctx context.Context, host, addr string, pol tlsPolicy, env Envelope, body io.ReadSeeker) ([]Result, error) {
	c, reused := cl.get(addr), true
	if c == nil {
		reused = false
		var err *Error
		if c, err = cl.connect(ctx, host, addr, pol); err != nil {
			return err.results(env.Rcpts), err
		}
	}
	for {
		if _, err := body.Seek(0, io.SeekStart); err != nil {
			c.close()
			return nil, err
		}
		size, _ := sizeOf(body)
		stop := c.watch(ctx)
		res, terr, reusable := c.transaction(env, body, size)
		stop()
		if terr != nil && reused && terr.Code == 0 && terr.Stage == StageMail {
			c.close()
			reused = false
			var err *Error
			if c, err = cl.connect(ctx, host, addr, pol); err != nil {
				return err.results(env.Rcpts), err
			}
			continue
		}
		if reusable && ctx.Err() == nil {
			cl.put(addr, c)
		} else {
			c.close()
		}
		if terr != nil {
			cl.log.Info("relay transaction failed", slog.String("relay", host), slog.String("stage", string(terr.Stage)),
				slog.Int("code", terr.Code), slog.String("reason", terr.Error()))
			if res == nil {
				res = terr.results(env.Rcpts)
			}
			return res, terr
		}
		return res, nil
	}
}

func sizeOf(s io.Seeker) (int64, error) {
	end, err := s.Seek(0, io.SeekEnd)
	if err != nil {
		return 0, err
	}
	_, err = s.Seek(0, io.SeekStart)
	return end, err
}

// connect dials addr and runs greeting, EHLO, TLS and AUTH as pol and the
// options say. On an opportunistic STARTTLS whose handshake fails, it
// reconnects once without TLS, as RFC 7435 section 3 allows.
func (cl *Client) connect(ctx context.Context, host, addr string, pol tlsPolicy) (*conn, *Error) {
	c, err := cl.connectOnce(ctx, host, addr, pol)
	if err != nil && pol == policyOpportunistic && err.Stage == StageTLS && err.Code == 0 && !errors.Is(err, errNoStartTLS) {
		cl.log.Info("STARTTLS failed, retrying in plain text", slog.String("host", host), slog.Any("error", err.Err))
		return cl.connectOnce(ctx, host, addr, policyNone)
	}
	return c, err
}

func (cl *Client) connectOnce(ctx context.Context, host, addr string, pol tlsPolicy) (*conn, *Error) {
	literal, e := cl.checkDestination(host, addr)
	if e != nil {
		return nil, e
	}
	dctx, cancel := context.WithTimeout(ctx, cl.opts.DialTimeout)
	defer cancel()
	nc, err := cl.opts.Dialer.DialContext(dctx, "tcp", addr)
	if err != nil {
		return nil, &Error{Stage: StageConnect, Host: host, Temporary: true, Err: err}
	}
	if e := cl.checkConnected(host, literal, nc); e != nil {
		nc.Close()
		return nil, e
	}
	cfg := cl.tlsConfig(host, pol)
	if pol == policyImplicit {
		tc := tls.Client(nc, cfg)
		if err := tc.HandshakeContext(dctx); err != nil {
			nc.Close()
			return nil, &Error{Stage: StageTLS, Host: host, Temporary: true, Err: err}
		}
		nc = tc
	}
	c := newConn(nc, host, &cl.opts)
	stop := c.watch(ctx)
	defer stop()
	if e := cl.handshake(ctx, c, pol, cfg); e != nil {
		c.close()
		return nil, e
	}
	return c, nil
}

// handshake: greeting, EHLO, STARTTLS and EHLO again, AUTH.
func (cl *Client) handshake(ctx context.Context, c *conn, pol tlsPolicy, cfg *tls.Config) *Error {
	if e := c.greet(); e != nil {
		return e
	}
	if e := c.hello(cl.opts.HeloName, pol == policyStartTLS); e != nil {
		return e
	}
	_, offered := c.ext["STARTTLS"]
	if pol == policyStartTLS || (pol == policyOpportunistic && offered) {
		if e := c.startTLS(ctx, cfg); e != nil {
			return e
		}
		if e := c.hello(cl.opts.HeloName, true); e != nil {
			return e
		}
	}
	if cl.opts.Host != "" && cl.opts.Username != "" {
		if e := c.auth(cl.opts.Username, cl.opts.Password); e != nil {
			return e
		}
	}
	return nil
}

func (cl *Client) tlsConfig(host string, pol tlsPolicy) *tls.Config {
	cfg := &tls.Config{ServerName: host, RootCAs: cl.opts.RootCAs, MinVersion: tls.VersionTLS12}
	if pol == policyOpportunistic {
		// RFC 7435: opportunistic TLS does not authenticate; MX
		// certificates are too often self-signed to insist.
		cfg.InsecureSkipVerify = true
	} else if cl.opts.InsecureSkipVerify {
		cfg.InsecureSkipVerify = true
		cl.log.Warn("connecting without certificate verification", slog.String("relay", host))
	}
	return cfg
}

// get takes the most recently used idle connection to addr, closing those
// idle longer than IdleTimeout.
func (cl *Client) get(addr string) *conn {
	cl.mu.Lock()
	defer cl.mu.Unlock()
	now := cl.opts.Now()
	cs := cl.idle[addr]
	for len(cs) > 0 {
		c := cs[len(cs)-1]
		cs = cs[:len(cs)-1]
		if now.Sub(c.lastUsed) < cl.opts.IdleTimeout {
			cl.idle[addr] = cs
			return c
		}
		go c.quit()
	}
	delete(cl.idle, addr)
	return nil
}

func (cl *Client) put(addr string, c *conn) {
	c.lastUsed = cl.opts.Now()
	cl.mu.Lock()
	if cl.done || cl.opts.MaxIdle < 0 || len(cl.idle[addr]) >= cl.opts.MaxIdle {
		cl.mu.Unlock()
		c.quit()
		return
	}
	cl.idle[addr] = append(cl.idle[addr], c)
	cl.mu.Unlock()
}

// Idle returns how many connections wait in the pool (for tests and status).
func (cl *Client) Idle() int {
	cl.mu.Lock()
	defer cl.mu.Unlock()
	n := 0
	for _, cs := range cl.idle {
		n += len(cs)
	}
	return n
}
