package server

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/caddyserver/certmagic"
	"github.com/postern/postern/server/config"
)

// acmeManager obtains and renews certificates through certmagic. Certificates and the
// ACME account live under state_dir/acme (certmagic's file storage, with its own
// locking); renewal runs in certmagic's background goroutines. Every TLS listener asks
// the certManager for a certificate at each handshake, and the certManager asks here
// first, so a renewed certificate is served from the next handshake on, without a
// restart and without dropping open sessions. Until the first certificate arrives, and
// whenever certmagic has none, the self-signed one keeps serving. A failed attempt is
// logged with the CA's reason and retried by certmagic with backoff; the old certificate
// keeps serving until it is replaced.
//
// Renewals keep the private key (certmagic's ReusePrivateKeys), so the public key, and
// with it a DANE TLSA "3 1 1" record (RFC 7671 section 5.1: SPKI, SHA-256) printed by
// `postern dns records`, stays valid across renewals. Only a new key would need a new
// TLSA record; removing state_dir/acme forces one.
//
// The challenges are answered on our own listeners: http-01 on listen.acme_http,
// tls-alpn-01 on listen.acme_tls. The issuer is told their bound host and port, so its
// solver finds the port taken and leaves the answering to us.
//
// renewCheckEnv names a test-only knob, read through Options.Getenv and deliberately not
// part of the config: how often certmagic looks for certificates due for renewal
// (default 10 minutes). The integration tests set it to a second so that Pebble's
// short-lived certificates are renewed while they watch.
type acmeManager struct {
	names    []string // names[0] is hostname: what clients without SNI get
	cache    *certmagic.Cache
	magic    *certmagic.Config
	issuer   *certmagic.ACMEIssuer
	log      *slog.Logger
	cancel   context.CancelFunc
	hostname string
}

// acmeAddrs are the bound challenge listeners ("" when off).
type acmeAddrs struct {
	HTTP, TLS string
}

// renewCheckEnv is the test-only environment variable (a Go duration) that shortens
// certmagic's renewal check interval; see acmeManager.
const renewCheckEnv = "POSTERN_TEST_ACME_RENEW_CHECK"

// renewCheckInterval reads renewCheckEnv; 0 (certmagic's default) when unset or invalid.
func renewCheckInterval(getenv func(string) string) time.Duration {
	d, err := time.ParseDuration(getenv(renewCheckEnv))
	if err != nil || d <= 0 {
		return 0
	}
	return d
}

func newACMEManager(cfg *config.Config, addrs acmeAddrs, renewCheck time.Duration, log *slog.Logger) (*acmeManager, error) {
	a := cfg.TLS.ACME
	names := a.NamesOr(cfg.Hostname)
	// hostname first: certificateFor falls back to it.
	names = append([]string{cfg.Hostname}, slices.DeleteFunc(slices.Clone(names), func(n string) bool { return strings.EqualFold(n, cfg.Hostname) })...)
	m := &acmeManager{names: names, log: log.With("service", "acme"), hostname: cfg.Hostname}
	zl := zapToSlog(m.log)
	m.cache = certmagic.NewCache(certmagic.CacheOptions{
		GetConfigForCert:   func(certmagic.Certificate) (*certmagic.Config, error) { return m.magic, nil },
		RenewCheckInterval: renewCheck,
		Logger:             zl,
	})
	m.magic = certmagic.New(m.cache, certmagic.Config{
		Storage:           &certmagic.FileStorage{Path: filepath.Join(cfg.StateDir, "acme")},
		DefaultServerName: cfg.Hostname,
		// Same key at every renewal: the TLSA record stays valid (see acmeManager).
		ReusePrivateKeys: true,
		Logger:           zl,
		OnEvent:          m.onEvent,
	})
	tmpl := certmagic.ACMEIssuer{
		CA:                      a.DirectoryURL(),
		Email:                   a.Email,
		Agreed:                  true,
		DisableHTTPChallenge:    a.Challenge != "http-01",
		DisableTLSALPNChallenge: a.Challenge != "tls-alpn-01",
		Logger:                  zl,
	}
	if a.CAFile != "" {
		pool, err := loadCAPool(a.CAFile)
		if err != nil {
			m.cache.Stop()
			return nil, err
		}
		tmpl.TrustedRoots = pool
	}
	var err error
	switch a.Challenge {
	case "http-01":
		tmpl.ListenHost, tmpl.AltHTTPPort, err = hostPort(addrs.HTTP)
	case "tls-alpn-01":
		tmpl.ListenHost, tmpl.AltTLSALPNPort, err = hostPort(addrs.TLS)
	case "dns-01":
		tmpl.DNS01Solver, err = dnsSolver(a, cfg.DNS.Addrs())
	}
	if err != nil {
		m.cache.Stop()
		return nil, fmt.Errorf("acme: %w", err)
	}
	m.issuer = certmagic.NewACMEIssuer(m.magic, tmpl)
	m.magic.Issuers = []certmagic.Issuer{m.issuer}
	return m, nil
}

// start loads what storage already holds (so a restart serves the ACME certificate from
// its first handshake) and hands the names to certmagic's background maintenance.
func (m *acmeManager) start() error {
	ctx, cancel := context.WithCancel(context.Background())
	m.cancel = cancel
	for _, n := range m.names {
		if _, err := m.magic.CacheManagedCertificate(ctx, n); err == nil {
			m.log.Info("acme: certificate loaded from storage", "name", n)
		}
	}
	m.log.Info("acme: managing certificates", "names", m.names, "ca", m.issuer.CA)
	return m.magic.ManageAsync(ctx, m.names)
}

func (m *acmeManager) stop() {
	if m.cancel != nil {
		m.cancel()
	}
	m.cache.Stop()
}

// certificateFor returns the newest cached certificate for the client's SNI name, or for
// hostname when the client sent none or a name we do not manage; nil when there is none
// yet.
func (m *acmeManager) certificateFor(hello *tls.ClientHelloInfo) *tls.Certificate {
	name := m.hostname
	if hello != nil && hello.ServerName != "" && slices.ContainsFunc(m.names, func(n string) bool { return strings.EqualFold(n, hello.ServerName) }) {
		name = strings.ToLower(hello.ServerName)
	}
	var best *certmagic.Certificate
	for _, c := range m.cache.AllMatchingCertificates(name) {
		if best == nil || c.Leaf.NotAfter.After(best.Leaf.NotAfter) {
			best = &c
		}
	}
	if best == nil {
		return nil
	}
	return &best.Certificate
}

// onEvent logs certmagic's certificate events in our words.
func (m *acmeManager) onEvent(_ context.Context, event string, data map[string]any) error {
	switch event {
	case "cert_obtained":
		m.log.Info("acme: certificate obtained", "name", data["identifier"], "renewal", data["renewal"], "issuer", data["issuer"])
	case "cert_failed":
		attrs := []any{"name", data["identifier"], "renewal", data["renewal"], "err", fmt.Sprint(data["error"])}
		if left, ok := data["remaining"].(time.Duration); ok {
			attrs = append(attrs, "remaining", left.Round(time.Second).String())
		}
		m.log.Error("acme: certificate not obtained; the current certificate keeps serving", attrs...)
	}
	return nil
}

// challengeTLSConfig answers tls-alpn-01 (RFC 8737) on listen.acme_tls.
func (m *acmeManager) challengeTLSConfig() *tls.Config {
	c := m.magic.TLSConfig()
	c.MinVersion = tls.VersionTLS12
	return c
}

// bindACMEHTTP serves http-01 challenges (RFC 8555 section 8.3) on listen.acme_http; any
// other request gets 404.
func (s *Server) bindACMEHTTP(a config.ListenAddr) error {
	ln, err := bindListenAddr(a)
	if err != nil {
		return err
	}
	ln = s.conns.http(ln)
	wk := s.wellKnown(false)
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if s.acme != nil && s.acme.issuer.HandleHTTPChallenge(w, r) {
			return
		}
		wk.ServeHTTP(w, r)
	})
	serve, stop := serveHTTP(newHTTPServer(h, s.log))
	s.svcs.Add("acme_http", ln, serve, stop)
	return nil
}

// bindACMETLS serves tls-alpn-01 challenges on listen.acme_tls, and otherwise HTTPS with
// the well-known files (wellknown.go).
func (s *Server) bindACMETLS(a config.ListenAddr) error {
	ln, err := bindListenAddr(a)
	if err != nil {
		return err
	}
	ln = s.conns.http(ln)
	srv := newHTTPServer(s.wellKnown(true), s.log)
	serve := func(l net.Listener) error {
		if s.acme == nil {
			return serveHTTPOnly(srv, tls.NewListener(l, s.tlsCfg))
		}
		return serveHTTPOnly(srv, tls.NewListener(l, s.acme.challengeTLSConfig()))
	}
	s.svcs.Add("acme_tls", ln, serve, srv.Shutdown)
	return nil
}

// bindHTTPS serves the well-known files (wellknown.go) over HTTPS on listen.https, with
// the certificate every TLS listener serves (by SNI, so ACME names such as
// mta-sts.DOMAIN get theirs).
func (s *Server) bindHTTPS(a config.ListenAddr) error {
	ln, err := bindListenAddr(a)
	if err != nil {
		return err
	}
	ln = s.conns.http(ln)
	srv := newHTTPServer(s.wellKnown(true), s.log)
	serve := func(l net.Listener) error { return serveHTTPOnly(srv, tls.NewListener(l, s.tlsCfg)) }
	s.svcs.Add("https", ln, serve, srv.Shutdown)
	return nil
}

// wellKnown is the handler of the well-known files for one listener.
func (s *Server) wellKnown(https bool) *wellKnown {
	return &wellKnown{cfg: s.cfg, dir: s.dir, bound: s.svcs.Addrs, https: https}
}

func serveHTTPOnly(srv *http.Server, ln net.Listener) error {
	if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// startACME builds the ACME manager once the challenge listeners are bound (their ports
// go to the issuer) and starts it.
func (s *Server) startACME() error {
	if s.cfg.TLS.ACME == nil {
		return nil
	}
	bound := s.svcs.Addrs()
	m, err := newACMEManager(s.cfg, acmeAddrs{HTTP: bound["acme_http"], TLS: bound["acme_tls"]}, renewCheckInterval(s.opts.Getenv), s.log)
	if err != nil {
		return err
	}
	s.acme = m
	s.certs.acme = m
	if err := m.start(); err != nil {
		return fmt.Errorf("acme: %w", err)
	}
	return nil
}

func hostPort(addr string) (string, int, error) {
	if addr == "" {
		return "", 0, errors.New("the challenge listener is not bound")
	}
	h, p, err := net.SplitHostPort(addr)
	if err != nil {
		return "", 0, err
	}
	port, err := strconv.Atoi(p)
	if err != nil {
		return "", 0, err
	}
	if ip := net.ParseIP(h); ip != nil && ip.IsUnspecified() {
		h = ""
	}
	return h, port, nil
}

func loadCAPool(file string) (*x509.CertPool, error) {
	pemBytes, err := os.ReadFile(file)
	if err != nil {
		return nil, fmt.Errorf("acme: ca_file: %w", err)
	}
	pool, err := x509.SystemCertPool()
	if err != nil {
		pool = x509.NewCertPool()
	}
	if !pool.AppendCertsFromPEM(pemBytes) {
		return nil, fmt.Errorf("acme: ca_file %s holds no PEM certificate", file)
	}
	return pool, nil
}
