package server

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"sort"
	"time"

	"github.com/postern/postern/admin"
	"github.com/postern/postern/imap"
	"github.com/postern/postern/server/config"
	"github.com/postern/postern/server/deliver"
	"github.com/postern/postern/server/dnsbl"
	"github.com/postern/postern/server/outbound"
	"github.com/postern/postern/sieve/managesieve"
	"github.com/postern/postern/smtp"
)

// bindListeners binds every configured listener, the admin socket last: a client that can
// reach the admin socket can rely on everything else being bound.
func (s *Server) bindListeners(ctx context.Context) error {
	cfg := s.cfg
	addrs := cfg.Addrs()
	binders := map[string]func(config.ListenAddr) error{
		"smtp":        func(a config.ListenAddr) error { return s.bindSMTP("smtp", a, smtp.RoleMX) },
		"lmtp":        func(a config.ListenAddr) error { return s.bindSMTP("lmtp", a, smtp.RoleLMTP) },
		"submission":  func(a config.ListenAddr) error { return s.bindSMTP("submission", a, smtp.RoleSubmission) },
		"submissions": func(a config.ListenAddr) error { return s.bindSMTP("submissions", a, smtp.RoleSubmissions) },
		"imap":        func(a config.ListenAddr) error { return s.bindIMAP("imap", a, false) },
		"imaps":       func(a config.ListenAddr) error { return s.bindIMAP("imaps", a, true) },
		"managesieve": s.bindManageSieve,
		"metrics":     s.bindMetrics,
		"acme_http":   s.bindACMEHTTP,
		"acme_tls":    s.bindACMETLS,
		"https":       s.bindHTTPS,
	}
	names := make([]string, 0, len(addrs))
	for name := range addrs {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		bind, ok := binders[name]
		if !ok {
			s.log.Warn("listener configured but not available in this version; not bound", "listener", name, "addr", addrs[name].String())
			continue
		}
		if err := bind(addrs[name]); err != nil {
			s.svcs.CloseListeners()
			return fmt.Errorf("listen %s on %s: %w", name, addrs[name].String(), err)
		}
	}
	if err := s.bindLocalSubmit(); err != nil {
		s.svcs.CloseListeners()
		return err
	}
	ln, serve, stop, err := bindAdmin(cfg, s.log, s.adminDeps())
	if err != nil {
		s.svcs.CloseListeners()
		return err
	}
	s.svcs.Add("admin", ln, serve, stop)
	return nil
}

// bindListenAddr binds one [listen] address; unix sockets are made 0660 (LMTP: the peer
// MTA's user must be able to connect, so packaging puts it in our group).
func bindListenAddr(a config.ListenAddr) (net.Listener, error) {
	if a.Network == "unix" {
		return listen("unix:"+a.Address, 0o660)
	}
	return listen(a.Address, 0)
}

func (s *Server) bindSMTP(name string, a config.ListenAddr, role smtp.Role) error {
	cfg := s.cfg
	ln, err := bindListenAddr(a)
	if err != nil {
		return err
	}
	spool := filepath.Join(cfg.StateDir, "spool")
	if err := os.MkdirAll(spool, 0o700); err != nil {
		ln.Close()
		return err
	}
	resolver := newResolver(cfg.DNS.Addrs())
	var filters []smtp.Filter
	var clientCheck smtp.ClientCheck
	if role == smtp.RoleMX {
		if f := newSenderAuthFilter(cfg, resolver, s.log.With("service", name)); f != nil {
			filters = append(filters, f)
		}
		// After sender authentication, so that Rspamd sees our
		// Authentication-Results.
		if f := newMilterFilter(cfg, s.log.With("service", name)); f != nil {
			filters = append(filters, f)
		}
		if len(cfg.DNSBL.Zones) > 0 {
			clientCheck = dnsbl.New(cfg.DNSBL.Zones, resolver, time.Now)
		}
	}
	conns, ll := s.conns.forSMTP(name)
	login, idle := ll.Timeouts()
	srv := smtp.NewServer(smtp.Options{
		Hostname:                  cfg.Hostname,
		Role:                      role,
		TLSConfig:                 s.tlsCfg,
		MaxMessageBytes:           cfg.SMTP.MessageSizeLimit,
		MaxRecipients:             cfg.SMTP.MaxRecipients,
		ConnLimiter:               conns,
		LoginTimeout:              login,
		CommandTimeout:            idle,
		DataTimeout:               idle, // silence in the text too: not RFC 5321's 3 minutes
		MaxLineLength:             cfg.SMTP.MaxLineLength,
		TrustedNetworks:           cfg.SMTP.Prefixes(),
		RejectUnknownSenderDomain: cfg.SMTP.RejectUnknownSenderDomain && role == smtp.RoleMX,
		Resolver:                  resolver,
		Policy:                    s.agent.RecipientPolicy(role),
		Deliverer:                 s.agent,
		Filters:                   filters,
		ClientCheck:               clientCheck,
		RateLimiter:               s.rates,
		Authenticator:             &smtpAuthenticator{store: s.store, limiter: s.limiter, log: s.log},
		SenderPolicy:              s.agent,
		SpoolDir:                  spool,
		Logger:                    s.log.With("service", name),
		Events:                    s.events,
	})
	serve := srv.Serve
	if role == smtp.RoleMX && s.mxProbe != nil {
		// postern doctor's open-relay test talks to this server as a stranger would.
		serve = func(l net.Listener) error {
			go srv.Serve(s.mxProbe) //nolint:errcheck // ends with the server's Shutdown
			return srv.Serve(l)
		}
	}
	s.svcs.Add(name, ln, serve, srv.Shutdown)
	return nil
}

// bindIMAP binds 143 (STARTTLS) or 993 (implicit TLS). Both share one imap.Server, so
// that a delivery wakes IDLE sessions on either port.
func (s *Server) bindIMAP(name string, a config.ListenAddr, implicit bool) error {
	ln, err := bindListenAddr(a)
	if err != nil {
		return err
	}
	srv := s.imap
	// TLS is layered in serve, so that the bound listener stays a plain one the metrics
	// can count connections on.
	serve := func(l net.Listener) error {
		if implicit {
			l = tls.NewListener(l, s.tlsCfg)
		}
		return srv.Serve(l, implicit)
	}
	s.svcs.Add(name, ln, serve, s.imapShutdown)
	return nil
}

// bindManageSieve binds ManageSieve (RFC 5804): STARTTLS, then AUTHENTICATE PLAIN through
// the shared failed-login limiter; uploaded scripts are compiled the way delivery will
// compile them (same include resolution) before they are stored.
func (s *Server) bindManageSieve(a config.ListenAddr) error {
	ln, err := bindListenAddr(a)
	if err != nil {
		return err
	}
	cfg := s.cfg
	login, idle := cfg.Limits.ManageSieve.Timeouts()
	srv, err := managesieve.NewServer(managesieve.Options{
		Hostname:      cfg.Hostname,
		TLSConfig:     s.tlsCfg,
		Authenticator: &netAuthenticator{store: s.store, limiter: s.limiter},
		Scripts:       s.store,
		Compile:       deliver.SieveCompiler(s.store, cfg.Sieve.GlobalDir, cfg.SMTP.RecipientDelimiter),
		ConnLimiter:   s.conns.managesieve,
		LoginTimeout:  login,
		IdleTimeout:   idle,
		Logger:        s.log.With("service", "managesieve"),
		Events:        s.events,
	})
	if err != nil {
		ln.Close()
		return err
	}
	serve := func(l net.Listener) error {
		if err := srv.Serve(l); !errors.Is(err, managesieve.ErrServerClosed) {
			return err
		}
		return nil
	}
	s.svcs.Add("managesieve", ln, serve, srv.Shutdown)
	return nil
}

// newIMAPServer builds the one IMAP server behind 143 and 993. It is built even when no
// IMAP listener is configured (the admin folder commands and autoexpunge use it), and
// before the delivery agent, which tells it of every delivery.
func (s *Server) newIMAPServer() *imap.Server {
	cfg := s.cfg
	login, idle := cfg.Limits.IMAP.Timeouts()
	return imap.NewServer(imap.Options{
		Store:        s.store,
		MaildirRoot:  func(user string) string { return deliver.UserRoot(cfg.MailDir(), user) },
		Namer:        s.namer,
		TLSConfig:    s.tlsCfg,
		Logger:       s.log.With("service", "imap"),
		Events:       s.events,
		Hostname:     cfg.Hostname,
		AuthLimiter:  s.limiter,
		AppendLimit:  uint32(min(cfg.SMTP.MessageSizeLimit, 1<<32-1)),
		ConnLimiter:  s.conns.imap,
		UserLimiter:  s.conns.imapUsers,
		LoginTimeout: login,
		IdleTimeout:  idle,
		SpamLearner:  s.spamLearner(),
		SieveEvents:  s.sieveEvents(),
	})
}

// newAgent builds the local delivery agent shared by SMTP, LMTP, local submission and
// the queue's bounces.
func (s *Server) newAgent() (*deliver.Agent, error) {
	cfg := s.cfg
	o := deliver.Options{
		Store:     s.store,
		Directory: s.dir,
		Namer:     s.namer,
		MailRoot:  cfg.MailDir(),
		StateDir:  cfg.StateDir,
		Hostname:  cfg.Hostname,
		Delimiter: cfg.SMTP.RecipientDelimiter,
		Sieve:     cfg.Sieve,
		Out:       s.out,
		Watcher:   s.imap,
		Probes:    s.limiter,
		Events:    s.events,
		Logger:    s.log,
	}
	if sg := outbound.NewSigner(cfg, s.log); sg != nil {
		o.Signer = sg
	}
	return deliver.New(o)
}

// status is what `postern status` reports.
func (s *Server) status() admin.Status {
	s.mu.Lock()
	cfg := s.cfg
	s.mu.Unlock()
	return admin.Status{
		Version:   s.opts.Version,
		PID:       os.Getpid(),
		StartedAt: s.started,
		Config:    cfg.File,
		StateDir:  cfg.StateDir,
		Listeners: s.svcs.Addrs(),
	}
}

// prepareUser gives a new user their Maildir and default mailboxes (admin user add).
func (s *Server) prepareUser(ctx context.Context, u admin.User) error {
	return deliver.PrepareUser(ctx, s.store, s.cfg.MailDir(), u.Address)
}
