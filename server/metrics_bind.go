package server

import (
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
	src := metricsSources{
		queue:    s.queueStats,
		certTill: s.certNotAfter,
		started:  s.started,
	}
	if s.trace != nil {
		src.trace = s.trace
	}
	return newServerMetrics(src)
}

// counted is the services' listener wrapper: every bound network listener (not the
// admin, metrics or ACME ones) counts its connections. With the metrics off (m nil) it
// returns ln as it is.
func (m *serverMetrics) counted(name string, ln net.Listener) net.Listener {
	if m == nil {
		return ln
	}
	switch name {
	case "admin", "metrics", "acme_http", "acme_tls":
		return ln
	}
	return m.countListener(name, ln)
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
	serve, stop := serveHTTP(newHTTPServer(mux, s.log, s.httpIdle()))
	s.svcs.Add("metrics", ln, serve, stop)
	return nil
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
	return s.certs.NotAfter()
}
