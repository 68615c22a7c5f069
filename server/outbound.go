package server

import (
	"bytes"
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"syscall"

	"github.com/postern/postern/server/config"
	"github.com/postern/postern/smtp"
	"github.com/postern/postern/smtp/queue"
	"github.com/postern/postern/smtp/relay"
)

// outbound is the sending side: the durable queue and the client that empties it through
// the smart host of [relay] (or straight to each domain's MX without one). Everything
// that leaves the server goes through Enqueue: relayed and submitted mail, alias
// forwards, Sieve redirects and vacation replies, and bounces for remote senders.
type outbound struct {
	q      *queue.Queue
	client *relay.Client
	log    *slog.Logger
}

// relayOptions builds the relay client's options from the config, reading the password.
func relayOptions(cfg *config.Config, getenv func(string) string, log *slog.Logger, resolver relay.Resolver) (relay.Options, error) {
	o := relay.Options{HeloName: cfg.Hostname, Logger: log.With("service", "relay"), Resolver: resolver}
	r := cfg.Relay
	if r == nil {
		return o, nil // direct MX delivery
	}
	o.Host, o.Port, o.TLS, o.Username = r.Host, r.Port, relay.TLSMode(r.TLS), r.Username
	if r.Username != "" {
		pw, err := readRelayPassword(r.PasswordFile, getenv)
		if err != nil {
			return o, err
		}
		o.Password = pw
	}
	if r.CAFile != "" {
		pem, err := os.ReadFile(r.CAFile)
		if err != nil {
			return o, fmt.Errorf("relay ca_file: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return o, fmt.Errorf("relay ca_file %s: no PEM certificates in it", r.CAFile)
		}
		o.RootCAs = pool
	}
	return o, nil
}

// readRelayPassword reads the smart host's password. Under systemd the unit's
// LoadCredential hands it over in $CREDENTIALS_DIRECTORY under the file's base name,
// which is preferred. Otherwise the file must be private to the service user: mode 0600
// or 0400 and owned by us, so a password left world-readable is refused loudly at start
// rather than leaked quietly.
func readRelayPassword(path string, getenv func(string) string) (string, error) {
	if dir := getenv("CREDENTIALS_DIRECTORY"); dir != "" {
		cred := filepath.Join(dir, filepath.Base(path))
		if data, err := os.ReadFile(cred); err == nil {
			return firstLine(data), nil
		}
	}
	fi, err := os.Stat(path)
	if err != nil {
		return "", fmt.Errorf("relay password_file: %w", err)
	}
	if perm := fi.Mode().Perm(); perm&0o077 != 0 {
		return "", fmt.Errorf("relay password_file %s is readable by others (mode %04o); make it private: chmod 600 %s", path, perm, path)
	}
	if st, ok := fi.Sys().(*syscall.Stat_t); ok && int(st.Uid) != os.Getuid() {
		return "", fmt.Errorf("relay password_file %s is owned by uid %d, not by the service user (uid %d): chown it to the user postern runs as", path, st.Uid, os.Getuid())
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("relay password_file: %w", err)
	}
	pw := firstLine(data)
	if pw == "" {
		return "", fmt.Errorf("relay password_file %s is empty", path)
	}
	return pw, nil
}

func firstLine(b []byte) string {
	if i := bytes.IndexAny(b, "\r\n"); i >= 0 {
		b = b[:i]
	}
	return string(b)
}

// relayTransport adapts the relay client to the queue.
type relayTransport struct{ c *relay.Client }

func (t relayTransport) Deliver(ctx context.Context, m *queue.Message, rcpts []string) []queue.Result {
	res, err := t.c.Send(ctx, relay.Envelope{From: m.From, Rcpts: rcpts}, m.Body())
	out := make([]queue.Result, len(rcpts))
	for i, rcpt := range rcpts {
		out[i] = queue.Result{Rcpt: rcpt, Temporary: true, Text: "no result"}
		if err != nil {
			out[i].Text = err.Error()
			var re *relay.Error
			if errors.As(err, &re) {
				out[i].Code, out[i].Enhanced, out[i].Temporary, out[i].RemoteMTA = re.Code, re.Enhanced, re.Temporary, re.Host
			}
		}
	}
	for _, r := range res {
		for i, rcpt := range rcpts {
			if r.Rcpt == rcpt {
				out[i] = queue.Result{Rcpt: rcpt, Delivered: r.Delivered(), Temporary: r.Temporary, Code: r.Code,
					Enhanced: r.Enhanced, Text: r.Text, RemoteMTA: r.RemoteMTA}
			}
		}
	}
	return out
}

// bouncer sends DSNs: to a local sender through local delivery, to anyone else through
// the queue, always with the null sender so that a bounce never bounces.
type bouncer struct {
	agent *deliveryAgent
}

func (b *bouncer) Bounce(ctx context.Context, bn *queue.Bounce) error {
	return b.agent.send(ctx, "", []string{bn.To}, bn.Message, "bounce:"+bn.QueueID)
}

// newOutbound opens the queue and the relay client.
func newOutbound(cfg *config.Config, opts relay.Options, agent *deliveryAgent, log *slog.Logger) (*outbound, error) {
	client, err := relay.New(opts)
	if err != nil {
		return nil, fmt.Errorf("relay: %w", err)
	}
	o := &outbound{client: client, log: log}
	minB, maxB, life, warn := cfg.Queue.Durations()
	q, err := queue.Open(cfg.QueueDir(), queue.Options{
		Transport:      relayTransport{c: client},
		Bouncer:        &bouncer{agent: agent},
		Hostname:       cfg.Hostname,
		Logger:         log.With("service", "queue"),
		MinBackoff:     minB,
		MaxBackoff:     maxB,
		Lifetime:       life,
		DelayWarning:   warn,
		MaxConcurrency: cfg.Queue.MaxConcurrency,
		MaxMessageSize: cfg.SMTP.MessageSizeLimit + 1<<20, // our headers on top of the limit
	})
	if err != nil {
		client.Close()
		return nil, err
	}
	o.q = q
	return o, nil
}

// Enqueue writes a message for remote recipients durably and returns its queue id.
func (o *outbound) Enqueue(ctx context.Context, from string, rcpts []string, body io.Reader, origin string) (string, error) {
	return o.q.Enqueue(ctx, queue.Envelope{From: from, Rcpts: rcpts, Origin: origin}, body)
}

// run is the queue's scheduler; it returns when ctx ends.
func (o *outbound) run(ctx context.Context) error { return o.q.Run(ctx) }

func (o *outbound) close() {
	if err := o.q.Close(); err != nil {
		o.log.Warn("closing queue", "err", err)
	}
	o.client.Close()
}

// send delivers a message the server itself makes (a bounce, a vacation reply, a
// redirect) to rcpts: local ones through local delivery, the rest through the queue.
func (a *deliveryAgent) send(ctx context.Context, from string, rcpts []string, msg []byte, origin string) error {
	env := &smtp.Envelope{
		ID:         origin,
		Session:    &smtp.Session{ID: origin, Role: smtp.RoleMX, Trusted: true, HELO: "localhost", Hostname: a.hostname, Start: a.now()},
		From:       from,
		Recipients: rcpts,
		Received:   a.now(),
	}
	errs := a.Deliver(ctx, env, bytesMessage(msg))
	return errors.Join(errs...)
}

// bytesMessage is a message held in memory.
type bytesMessage []byte

func (m bytesMessage) Size() int64 { return int64(len(m)) }
func (m bytesMessage) Open() (io.ReadCloser, error) {
	return io.NopCloser(bytes.NewReader(m)), nil
}
