package server

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"sync"
	"syscall"
	"time"

	"github.com/postern/postern/imap"
	"github.com/postern/postern/imapsieve"
	"github.com/postern/postern/server/certs"
	"github.com/postern/postern/server/config"
	"github.com/postern/postern/server/deliver"
	"github.com/postern/postern/server/limits"
	"github.com/postern/postern/server/outbound"
	"github.com/postern/postern/smtp"
	"github.com/postern/postern/spamlearn"
	"github.com/postern/postern/store"
	"github.com/postern/postern/store/maildir"
	"github.com/postern/postern/trace"
	"golang.org/x/sys/unix"
)

// drainTimeout bounds a graceful stop: systemd's default stop timeout is 90 s, but users
// (and the tests) expect `kill -TERM` to be done within a few seconds.
const drainTimeout = 3 * time.Second

// certPollInterval is how often configured certificate files are checked for changes, so
// that a certbot or ACME-client renewal is picked up without a SIGHUP.
const certPollInterval = 30 * time.Second

// Options are what cmd/postern hands to Serve.
type Options struct {
	ConfigPath string    // the config file
	Version    string    // stamped at build time
	LogOutput  io.Writer // where logs go; nil = os.Stderr
	Getenv     func(string) string
}

// Serve runs the daemon until ctx is cancelled or a fatal error occurs.
func Serve(ctx context.Context, opts Options) error {
	if opts.LogOutput == nil {
		opts.LogOutput = os.Stderr
	}
	if opts.Getenv == nil {
		opts.Getenv = os.Getenv
	}
	cfg, err := config.Load(opts.ConfigPath)
	if err != nil {
		return &ConfigError{Err: err}
	}
	log, err := newLogger(journalOutput(opts.LogOutput, opts.Getenv), cfg.Log.Format, cfg.Log.Level)
	if err != nil {
		return err
	}
	for _, w := range cfg.Warnings() {
		log.Warn("config: " + w)
	}
	s, err := start(ctx, cfg, opts, log)
	if err != nil {
		return err
	}
	startPprof(opts.Getenv("POSTERN_PPROF_ADDR"), log)
	return s.run(ctx)
}

// ConfigError is a config file Serve could not load (missing, unreadable or invalid):
// the daemon did not start, and starting it again will not help until the file is
// fixed (postern serve exits with EX_CONFIG, which the unit does not restart).
type ConfigError struct{ Err error }

func (e *ConfigError) Error() string { return e.Err.Error() }
func (e *ConfigError) Unwrap() error { return e.Err }

// Server is one running daemon.
type Server struct {
	opts    Options
	log     *slog.Logger
	started time.Time
	systemd *systemd
	// trace writes the trace events into the store (startTrace); nil without tracing.
	trace *trace.Recorder

	mu  sync.Mutex // guards cfg across reloads
	cfg *config.Config

	lock   *store.DirLock
	store  *store.Store
	certs  *certs.Manager
	tlsCfg *tls.Config
	svcs   *services
	namer  *maildir.Namer     // Maildir file names, for delivery and IMAP alike
	dir    *deliver.Directory // cached recipient lookups; flushed by every admin command
	agent  *deliver.Agent

	out          *outbound.Outbound
	limiter      *limits.Logins
	conns        *connLimits
	rates        *limits.Rates // [limits], shared by every SMTP listener
	imap         *imap.Server
	imapShutdown func(context.Context) error
	learner      *spamlearn.Learner // nil unless [spam_learning] controller is set
	imapSieve    *imapsieve.Runner  // nil without [[sieve.imapsieve]] rules

	mxProbe *smtp.ProbeListener // the open-relay test's way into the smtp listener; nil without one

	metrics    *serverMetrics          // nil unless [listen] metrics is set
	events     *eventSink              // every package's events, fanned out to the metrics
	challenges map[string]net.Listener // acme_http, acme_tls: bound before the certificates
	acme       *certs.ACME             // nil unless [tls.acme] is set
}

func start(ctx context.Context, cfg *config.Config, opts Options, log *slog.Logger) (_ *Server, err error) {
	s := &Server{opts: opts, log: log, cfg: cfg, started: time.Now(), systemd: newSystemd(opts.Getenv)}
	defer func() {
		if err != nil {
			s.close()
		}
	}()
	for _, d := range []struct {
		path string
		mode os.FileMode
	}{{cfg.StateDir, 0o711}, {cfg.RuntimeDir, 0o755}} {
		if err := makeDir(d.path, d.mode); err != nil {
			return nil, err
		}
	}
	if s.lock, err = store.LockDir(cfg.StateDir); err != nil {
		return nil, err
	}
	if s.store, err = store.Open(ctx, cfg.DBPath(), store.Options{Logger: log}); err != nil {
		return nil, err
	}
	// From here on every part logs through the trace tee, which writes into the store.
	if log, s.trace, err = startTrace(cfg, log, s.store); err != nil {
		return nil, err
	}
	s.log = log
	s.metrics = s.newMetrics()
	s.svcs = newServices(log, s.metrics.counted)
	s.events = &eventSink{metrics: s.metrics}
	s.dir = deliver.NewDirectory(s.store, time.Now)
	if s.challenges, err = bindChallenges(cfg); err != nil {
		return nil, err
	}
	if s.acme, err = newACME(cfg, s.challenges, opts.Getenv, log); err != nil {
		return nil, err
	}
	if s.certs, err = certs.New(certs.Source{
		CertFile: cfg.TLS.Cert, KeyFile: cfg.TLS.Key, SelfSigned: cfg.TLS.SelfSigned || cfg.TLS.ACME != nil,
		Hostname: cfg.Hostname, Dir: filepath.Join(cfg.StateDir, "tls"),
	}, s.acme, log, time.Now); err != nil {
		return nil, err
	}
	s.tlsCfg = s.certs.TLSConfig(cfg.TLS.MinTLSVersion())
	s.limiter = newLogins(cfg)
	s.conns = newConnLimits(cfg)
	s.rates = limits.NewRates(cfg.Limits, time.Now)
	s.namer = maildir.NewNamer(cfg.Hostname, time.Now)
	if s.learner, err = newSpamLearner(cfg, log, s.events); err != nil {
		return nil, err
	}
	if s.imapSieve, err = newIMAPSieve(cfg, s); err != nil {
		return nil, err
	}
	s.imap = s.newIMAPServer()
	s.imapShutdown = onceShutdown(s.imap.Shutdown)
	if s.out, err = outbound.Open(cfg, opts.Getenv, log, newResolver(cfg.DNS.Addrs()), s.events); err != nil {
		return nil, err
	}
	if s.agent, err = s.newAgent(); err != nil {
		return nil, err
	}
	if err := s.recoverIfUnclean(ctx); err != nil {
		return nil, err
	}
	if _, ok := cfg.Addrs()["smtp"]; ok {
		s.mxProbe = smtp.NewProbeListener() // served beside listen.smtp (bindSMTP)
	}
	if err := s.bindListeners(ctx); err != nil {
		return nil, err
	}
	if err := s.startACME(); err != nil {
		s.svcs.CloseListeners()
		return nil, err
	}
	s.warnWellKnownCerts(ctx)
	log.Info("postern started", "version", opts.Version, "pid", os.Getpid(), "config", cfg.File,
		"state_dir", cfg.StateDir, "listeners", s.svcs.Addrs())
	return s, nil
}

// run serves until ctx is done, handling SIGHUP, then stops gracefully.
func (s *Server) run(ctx context.Context) error {
	errc := s.svcs.Start()
	qctx, stopQueue := context.WithCancel(context.Background())
	qdone := make(chan struct{})
	go func() {
		defer close(qdone)
		if err := s.out.Run(qctx, s.agent); err != nil && !errors.Is(err, context.Canceled) {
			s.log.Error("queue scheduler stopped", "err", err)
		}
	}()
	bgDone := s.startBackground(qctx)
	if err := s.systemd.Ready(); err != nil {
		s.log.Warn("sd_notify failed", "err", err)
	}
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	poll := time.NewTicker(certPollInterval)
	defer poll.Stop()

	var runErr error
loop:
	for {
		select {
		case <-ctx.Done():
			s.log.Info("stopping", "reason", context.Cause(ctx))
			break loop
		case err := <-errc:
			runErr = err
			s.log.Error("listener failed; stopping", "err", err)
			break loop
		case <-hup:
			s.reload()
		case <-poll.C:
			s.certs.ReloadIfChanged()
		}
	}
	_ = s.systemd.Send("STOPPING=1")
	sctx, cancel := context.WithTimeout(context.Background(), drainTimeout)
	defer cancel()
	s.svcs.Shutdown(sctx)
	stopQueue()
	<-qdone
	bgDone.Wait()
	s.close()
	s.log.Info("postern stopped")
	return runErr
}

// reload re-reads the config file and the certificates. What cannot change without a
// restart (listen addresses, state_dir) is reported, not applied.
func (s *Server) reload() {
	_ = s.systemd.Send(fmt.Sprintf("RELOADING=1\nMONOTONIC_USEC=%d", monotonicUsec()))
	defer func() { _ = s.systemd.Send("READY=1") }()
	s.log.Info("reloading", "config", s.opts.ConfigPath)
	cfg, err := config.Load(s.opts.ConfigPath)
	if err != nil {
		s.log.Error("reload: config refused; keeping the running one", "err", err)
		return
	}
	s.mu.Lock()
	old := s.cfg
	s.cfg = cfg
	s.mu.Unlock()
	if old.Listen != cfg.Listen || old.StateDir != cfg.StateDir || old.RuntimeDir != cfg.RuntimeDir {
		s.log.Warn("reload: listen addresses and directories change only on restart")
	}
	if err := s.certs.Reload(); err != nil {
		s.log.Error("reload: certificate reload failed; keeping the old one", "err", err)
	}
}

// monotonicUsec is CLOCK_MONOTONIC in microseconds, which systemd wants with RELOADING=1.
func monotonicUsec() int64 {
	var ts unix.Timespec
	if err := unix.ClockGettime(unix.CLOCK_MONOTONIC, &ts); err != nil {
		return 0
	}
	return ts.Nano() / 1e3
}

// close releases what start acquired, in reverse order. Safe on a partly started server.
func (s *Server) close() {
	closeAll(s.challenges) // served by then, or never: closing again is harmless
	if s.acme != nil {
		s.acme.Stop()
	}
	if s.out != nil {
		s.out.Close()
	}
	if s.agent != nil {
		s.agent.Close()
	}
	if s.trace != nil {
		s.trace.Close() // what the parts above logged is written before the store closes
	}
	if s.store != nil {
		if err := s.store.Close(); err != nil {
			s.log.Error("closing store", "err", err)
		} else if s.svcs != nil && s.svcs.stopped {
			s.markClean()
		}
	}
	if s.lock != nil {
		_ = s.lock.Close()
	}
}

// onceShutdown makes a shutdown that several listeners share (IMAP's 143 and 993) run
// once.
func onceShutdown(shutdown func(context.Context) error) func(context.Context) error {
	var once sync.Once
	return func(ctx context.Context) error {
		var err error
		once.Do(func() { err = shutdown(ctx) })
		return err
	}
}

// makeDir creates dir with exactly mode (not reduced by the umask) when it is missing: the
// state directory must be searchable and the runtime directory readable by every local
// user, for sendmail's maildrop and socket. An existing directory is left as it is (the
// unit's StateDirectoryMode= and RuntimeDirectoryMode= say what it should be).
func makeDir(dir string, mode os.FileMode) error {
	if _, err := os.Stat(dir); err == nil {
		return nil
	}
	if err := os.MkdirAll(dir, mode); err != nil {
		return fmt.Errorf("creating %s: %w", dir, err)
	}
	if err := os.Chmod(dir, mode); err != nil {
		return fmt.Errorf("creating %s: %w", dir, err)
	}
	return nil
}
