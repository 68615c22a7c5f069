package certs

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

// ACME obtains and renews certificates through certmagic. Certificates and the
// ACME account live under state_dir/acme (certmagic's file storage, with its own
// locking); renewal runs in certmagic's background goroutines. Every TLS listener asks
// the Manager for a certificate at each handshake, and the Manager asks here
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
// The challenges are answered on our own listeners: http-01 on listen.acme_http (through
// HandleHTTPChallenge), tls-alpn-01 on listen.acme_tls (ChallengeTLSConfig). The issuer
// is told their bound host and port, so its solver finds the port taken and leaves the
// answering to us; this is why the daemon binds those two listeners before it builds
// the ACME side, and the ACME side before the Manager.
//
// RenewCheckEnv names a test-only knob, read through the getenv given to NewACME and
// deliberately not part of the config: how often certmagic looks for certificates due for renewal
// (default 10 minutes). The integration tests set it to a second so that Pebble's
// short-lived certificates are renewed while they watch.
type ACME struct {
	names    []string // names[0] is hostname: what clients without SNI get
	cache    *certmagic.Cache
	magic    *certmagic.Config
	issuer   *certmagic.ACMEIssuer
	log      *slog.Logger
	cancel   context.CancelFunc
	hostname string
	failed   failures // names whose last obtain or renewal failed
}

// Addrs are the bound challenge listeners ("" when off).
type Addrs struct {
	HTTP, TLS string
}

// RenewCheckEnv is the test-only environment variable (a Go duration) that shortens
// certmagic's renewal check interval; see ACME.
const RenewCheckEnv = "POSTERN_TEST_ACME_RENEW_CHECK"

// renewCheckInterval reads RenewCheckEnv; 0 (certmagic's default) when unset or invalid.
func renewCheckInterval(getenv func(string) string) time.Duration {
	d, err := time.ParseDuration(getenv(RenewCheckEnv))
	if err != nil || d <= 0 {
		return 0
	}
	return d
}

// NewACME builds the ACME side of [tls.acme] (cfg.TLS.ACME must be set) for the bound
// challenge listeners addrs; Start hands it the names.
func NewACME(cfg *config.Config, addrs Addrs, getenv func(string) string, log *slog.Logger) (*ACME, error) {
	a := cfg.TLS.ACME
	names := a.NamesOr(cfg.Hostname)
	// hostname first: certificateFor falls back to it.
	names = append([]string{cfg.Hostname}, slices.DeleteFunc(slices.Clone(names), func(n string) bool { return strings.EqualFold(n, cfg.Hostname) })...)
	m := &ACME{names: names, log: log.With("service", "acme"), hostname: cfg.Hostname}
	zl := zapToSlog(m.log)
	m.cache = certmagic.NewCache(certmagic.CacheOptions{
		GetConfigForCert:   func(certmagic.Certificate) (*certmagic.Config, error) { return m.magic, nil },
		RenewCheckInterval: renewCheckInterval(getenv),
		Logger:             zl,
	})
	m.magic = certmagic.New(m.cache, certmagic.Config{
		Storage:           &certmagic.FileStorage{Path: filepath.Join(cfg.StateDir, "acme")},
		DefaultServerName: cfg.Hostname,
		// Same key at every renewal: the TLSA record stays valid (see ACME).
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

// Start loads what storage already holds (so a restart serves the ACME certificate from
// its first handshake) and hands the names to certmagic's background maintenance.
func (m *ACME) Start() error {
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

// Stop ends renewal and the certificate cache's goroutines.
func (m *ACME) Stop() {
	if m.cancel != nil {
		m.cancel()
	}
	m.cache.Stop()
}

// certificateFor returns the newest cached certificate for the client's SNI name, or for
// hostname when the client sent none or a name we do not manage; nil when there is none
// yet.
func (m *ACME) certificateFor(hello *tls.ClientHelloInfo) *tls.Certificate {
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
func (m *ACME) onEvent(_ context.Context, event string, data map[string]any) error {
	switch event {
	case "cert_obtained":
		m.log.Info("acme: certificate obtained", "name", data["identifier"], "renewal", data["renewal"], "issuer", data["issuer"])
		m.failed.clear(fmt.Sprint(data["identifier"]))
	case "cert_failed":
		attrs := []any{"name", data["identifier"], "renewal", data["renewal"], "err", fmt.Sprint(data["error"])}
		f := Failure{Name: fmt.Sprint(data["identifier"]), At: time.Now(), Err: fmt.Sprint(data["error"])}
		if left, ok := data["remaining"].(time.Duration); ok {
			attrs = append(attrs, "remaining", left.Round(time.Second).String())
			f.Remaining = left
		}
		m.failed.set(f)
		m.log.Error("acme: certificate not obtained; the current certificate keeps serving", attrs...)
	}
	return nil
}

// ChallengeTLSConfig answers tls-alpn-01 (RFC 8737) on listen.acme_tls.
func (m *ACME) ChallengeTLSConfig() *tls.Config {
	c := m.magic.TLSConfig()
	c.MinVersion = tls.VersionTLS12
	return c
}

// HandleHTTPChallenge answers an http-01 challenge request (RFC 8555 section 8.3) and
// reports whether r was one.
func (m *ACME) HandleHTTPChallenge(w http.ResponseWriter, r *http.Request) bool {
	return m.issuer.HandleHTTPChallenge(w, r)
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
