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
	"strings"
	"syscall"

	"github.com/postern/postern/server/config"
	"github.com/postern/postern/smtp"
	"github.com/postern/postern/smtp/queue"
	"github.com/postern/postern/smtp/relay"
)

// outbound is the sending side: the durable queue and the clients that empty it through
// the smart host of [relay] (or straight to each domain's MX without one), or the way
// a [[route]] names (see router). Everything
// that leaves the server goes through Enqueue: relayed and submitted mail, alias
// forwards, Sieve redirects and vacation replies, and bounces for remote senders.
type outbound struct {
	q      *queue.Queue
	router *router
	log    *slog.Logger
}

// relayOptionsFor builds the relay client's options for a route target (config.ViaRelay,
// config.ViaDirect or a [relays.NAME] name), reading its password file.
func relayOptionsFor(cfg *config.Config, name string, getenv func(string) string, log *slog.Logger, resolver relay.Resolver) (relay.Options, error) {
	o := relay.Options{HeloName: cfg.Hostname, Logger: log.With("service", "relay"), Resolver: resolver}
	if name == config.ViaDirect {
		return o, nil
	}
	r := cfg.RelayByName(name)
	if r == nil {
		if name == config.ViaRelay {
			return o, nil // direct MX delivery
		}
		return o, fmt.Errorf("no relay named %q (known: %s)", name, strings.Join(cfg.RelayNames(), ", "))
	}
	if name != config.ViaRelay {
		o.Logger = o.Logger.With("relay", name)
	}
	label := relayTarget(name)
	o.Host, o.Port, o.TLS, o.Username = r.Host, r.Port, relay.TLSMode(r.TLS), r.Username
	o.InsecureSkipVerify = r.InsecureSkipVerify
	if r.Username != "" {
		pw, err := readPasswordFile(label, r.PasswordFile, getenv)
		if err != nil {
			return o, err
		}
		o.Password = pw
	}
	if r.CAFile != "" {
		pem, err := os.ReadFile(r.CAFile)
		if err != nil {
			return o, fmt.Errorf("%s ca_file: %w", label, err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return o, fmt.Errorf("%s ca_file %s: no PEM certificates in it", label, r.CAFile)
		}
		o.RootCAs = pool
	}
	return o, nil
}

// readPasswordFile reads a smart host's password. Under systemd the unit's
// LoadCredential hands it over in $CREDENTIALS_DIRECTORY under the file's base name,
// which is preferred. Otherwise the file must be private to the service user: mode 0600
// or 0400 and owned by us, so a password left world-readable is refused loudly at start
// rather than leaked quietly.
// label ("relay", "relays.NAME") starts every error.
func readPasswordFile(label, path string, getenv func(string) string) (string, error) {
	if dir := getenv("CREDENTIALS_DIRECTORY"); dir != "" {
		cred := filepath.Join(dir, filepath.Base(path))
		if data, err := os.ReadFile(cred); err == nil {
			return firstLine(data), nil
		}
	}
	fi, err := os.Stat(path)
	if err != nil {
		return "", fmt.Errorf("%s password_file: %w", label, err)
	}
	if perm := fi.Mode().Perm(); perm&0o077 != 0 {
		return "", fmt.Errorf("%s password_file %s is readable by others (mode %04o); make it private: chmod 600 %s", label, path, perm, path)
	}
	if st, ok := fi.Sys().(*syscall.Stat_t); ok && int(st.Uid) != os.Getuid() {
		return "", fmt.Errorf("%s password_file %s is owned by uid %d, not by the service user (uid %d): chown it to the user postern runs as", label, path, st.Uid, os.Getuid())
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("%s password_file: %w", label, err)
	}
	pw := firstLine(data)
	if pw == "" {
		return "", fmt.Errorf("%s password_file %s is empty", label, path)
	}
	return pw, nil
}

func firstLine(b []byte) string {
	if i := bytes.IndexAny(b, "\r\n"); i >= 0 {
		b = b[:i]
	}
	return string(b)
}

// bouncer sends DSNs: to a local sender through local delivery, to anyone else through
// the queue, always with the null sender so that a bounce never bounces.
type bouncer struct {
	agent *deliveryAgent
}

func (b *bouncer) Bounce(ctx context.Context, bn *queue.Bounce) error {
	return b.agent.send(ctx, "", []string{bn.To}, bn.Message, "bounce:"+bn.QueueID)
}

// newOutbound opens the queue and a relay client per way out (routeOptions).
func newOutbound(cfg *config.Config, opts map[string]relay.Options, agent *deliveryAgent, log *slog.Logger) (*outbound, error) {
	rt, err := newRouter(cfg, opts, log.With("service", "relay"))
	if err != nil {
		return nil, fmt.Errorf("relay: %w", err)
	}
	o := &outbound{router: rt, log: log}
	minB, maxB, life, warn := cfg.Queue.Durations()
	q, err := queue.Open(cfg.QueueDir(), queue.Options{
		Transport:      rt,
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
		rt.close()
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
	o.router.close()
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
