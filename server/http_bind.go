package server

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/postern/postern/server/certs"
	"github.com/postern/postern/server/config"
	"github.com/postern/postern/server/wellknown"
)

// bindChallenges binds listen.acme_http and listen.acme_tls before anything that uses
// TLS is built: the ACME side is told their bound ports when it is built, and the
// certificate manager is built with the ACME side. bindListeners then serves them.
func bindChallenges(cfg *config.Config) (map[string]net.Listener, error) {
	bound := map[string]net.Listener{}
	addrs := cfg.Addrs()
	for _, name := range []string{"acme_http", "acme_tls"} {
		a, ok := addrs[name]
		if !ok {
			continue
		}
		ln, err := bindListenAddr(a)
		if err != nil {
			closeAll(bound)
			return nil, fmt.Errorf("listen %s on %s: %w", name, a.String(), err)
		}
		bound[name] = ln
	}
	return bound, nil
}

func closeAll(lns map[string]net.Listener) {
	for _, ln := range lns {
		ln.Close()
	}
}

// newACME builds the ACME side when [tls.acme] is set (nil otherwise), for the challenge
// listeners bound by bindChallenges.
func newACME(cfg *config.Config, challenges map[string]net.Listener, getenv func(string) string, log *slog.Logger) (*certs.ACME, error) {
	if cfg.TLS.ACME == nil {
		return nil, nil
	}
	addr := func(name string) string {
		if ln, ok := challenges[name]; ok {
			return ln.Addr().String()
		}
		return ""
	}
	return certs.NewACME(cfg, certs.Addrs{HTTP: addr("acme_http"), TLS: addr("acme_tls")}, getenv, log)
}

// startACME hands the names to the ACME side once every listener is bound.
func (s *Server) startACME() error {
	if s.acme == nil {
		return nil
	}
	if err := s.acme.Start(); err != nil {
		return fmt.Errorf("acme: %w", err)
	}
	return nil
}

// bindACMEHTTP serves http-01 challenges (RFC 8555 section 8.3) on listen.acme_http; any
// other request gets the well-known files, or 404.
func (s *Server) bindACMEHTTP(config.ListenAddr) error {
	ln := s.conns.http(s.challenges["acme_http"])
	wk := s.wellKnown(false)
	h := http.Handler(wk)
	if s.acme != nil {
		h = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if !s.acme.HandleHTTPChallenge(w, r) {
				wk.ServeHTTP(w, r)
			}
		})
	}
	serve, stop := serveHTTP(newHTTPServer(h, s.log, s.httpIdle()))
	s.svcs.Add("acme_http", ln, serve, stop)
	return nil
}

// bindACMETLS serves tls-alpn-01 challenges on listen.acme_tls, and otherwise HTTPS with
// the well-known files.
func (s *Server) bindACMETLS(config.ListenAddr) error {
	ln := s.conns.http(s.challenges["acme_tls"])
	tlsCfg := s.tlsCfg
	if s.acme != nil {
		tlsCfg = s.acme.ChallengeTLSConfig()
	}
	srv := newHTTPServer(s.wellKnown(true), s.log, s.httpIdle())
	serve := func(l net.Listener) error { return serveHTTPOnly(srv, tls.NewListener(l, tlsCfg)) }
	s.svcs.Add("acme_tls", ln, serve, srv.Shutdown)
	return nil
}

// bindHTTPS serves the well-known files over HTTPS on listen.https, with the certificate
// every TLS listener serves (by SNI, so ACME names such as mta-sts.DOMAIN get theirs).
func (s *Server) bindHTTPS(a config.ListenAddr) error {
	ln, err := bindListenAddr(a)
	if err != nil {
		return err
	}
	ln = s.conns.http(ln)
	srv := newHTTPServer(s.wellKnown(true), s.log, s.httpIdle())
	serve := func(l net.Listener) error { return serveHTTPOnly(srv, tls.NewListener(l, s.tlsCfg)) }
	s.svcs.Add("https", ln, serve, srv.Shutdown)
	return nil
}

// wellKnown is the handler of the well-known files for one listener.
func (s *Server) wellKnown(https bool) *wellknown.Handler {
	return wellknown.New(s.cfg, s.dir, s.svcs.Addrs, https)
}

// warnWellKnownCerts logs, at start, what keeps the well-known files from being fetched
// with a valid certificate (wellknown.CertProblems).
func (s *Server) warnWellKnownCerts(ctx context.Context) {
	if s.cfg.MTASTSPolicy() == "" {
		return
	}
	var names []string
	domains, _ := s.store.ListDomains(ctx) // unreadable: only the checks that need no domain
	for _, d := range domains {
		names = append(names, d.Name)
	}
	for _, p := range wellknown.CertProblems(s.cfg, names) {
		s.log.Warn(p.Message, p.Attrs...)
	}
}

// newHTTPServer is the HTTP server for the metrics, ACME and HTTPS listeners: small,
// with timeouts, so that a slow client cannot hold connections open. idle is
// [limits.http] idle_timeout: how long a kept-alive connection waits for its next
// request, and at most how long the first one's header may take.
func newHTTPServer(h http.Handler, log *slog.Logger, idle time.Duration) *http.Server {
	return &http.Server{
		Handler:           h,
		ReadHeaderTimeout: min(10*time.Second, idle),
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       idle,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelDebug),
	}
}

// httpIdle is [limits.http] idle_timeout (validated: positive).
func (s *Server) httpIdle() time.Duration {
	_, idle := s.cfg.Limits.HTTP.Timeouts()
	return idle
}

// serveHTTP adapts an http.Server to the services' serve and shutdown functions.
func serveHTTP(srv *http.Server) (func(net.Listener) error, func(context.Context) error) {
	return func(ln net.Listener) error { return serveHTTPOnly(srv, ln) }, srv.Shutdown
}

func serveHTTPOnly(srv *http.Server, ln net.Listener) error {
	if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}
