package server

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/postern/postern/server/config"
)

// newMetrics creates the metrics when [listen] metrics is set, else nil.
func (s *Server) newMetrics() *serverMetrics {
	if s.cfg.Listen.Metrics == "" {
		return nil
	}
	return newServerMetrics(metricsSources{
		queue:    s.queueStats,
		certTill: s.certNotAfter,
		started:  s.started,
	})
}

// countConnections wraps every bound network listener (not the admin, metrics or ACME
// ones) so that connections are counted. Called after bindListeners, before Start.
func (s *Server) countConnections() {
	if s.metrics == nil {
		return
	}
	for _, sv := range s.svcs.list {
		switch sv.name {
		case "admin", "metrics", "acme_http", "acme_tls":
			continue
		}
		sv.ln = s.metrics.countListener(sv.name, sv.ln)
	}
}

// bindMetrics serves GET /metrics in the Prometheus text format.
func (s *Server) bindMetrics(a config.ListenAddr) error {
	ln, err := bindListenAddr(a)
	if err != nil {
		return err
	}
	ln = s.conns.http(ln)
	mux := http.NewServeMux()
	mux.HandleFunc("GET /metrics", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
		if _, err := s.metrics.reg.WriteTo(w); err != nil {
			s.log.Debug("metrics: writing the response", "err", err)
		}
	})
	serve, stop := serveHTTP(newHTTPServer(mux, s.log))
	s.svcs.Add("metrics", ln, serve, stop)
	return nil
}

// newHTTPServer is the HTTP server for the metrics and ACME listeners: small, with
// timeouts, so that a slow client cannot hold connections open.
func newHTTPServer(h http.Handler, log *slog.Logger) *http.Server {
	return &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       60 * time.Second,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelDebug),
	}
}

// serveHTTP adapts an http.Server to the services' serve and shutdown functions.
func serveHTTP(srv *http.Server) (func(net.Listener) error, func(context.Context) error) {
	serve := func(ln net.Listener) error {
		if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
			return err
		}
		return nil
	}
	return serve, srv.Shutdown
}

// queueStats reports the outbound queue's length and its oldest message's arrival.
func (s *Server) queueStats() (int, time.Time) {
	if s.out == nil {
		return 0, time.Time{}
	}
	var oldest time.Time
	list := s.out.Queue().List()
	for _, m := range list {
		if oldest.IsZero() || m.Arrival.Before(oldest) {
			oldest = m.Arrival
		}
	}
	return len(list), oldest
}

// certNotAfter is when the certificate served to clients without SNI expires.
func (s *Server) certNotAfter() time.Time {
	if s.certs == nil {
		return time.Time{}
	}
	c, err := s.certs.current(nil)
	if err != nil || c == nil || c.Leaf == nil {
		return time.Time{}
	}
	return c.Leaf.NotAfter
}
