package server

import (
	"context"
	"log/slog"
	"net"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// serverMetrics is what /metrics reports. Most counters are fed by the mail log: every
// event the protocol packages log for operators (one line per message, delivery, reject
// and failed login: the contract fail2ban and grep rely on) is counted by a slog.Handler
// wrapped around the process logger, so smtp/, imap/ and the queue need no metrics code.
// Connections are counted by wrapping each bound listener; queue and certificate gauges
// are read at scrape time.
type serverMetrics struct {
	reg *registry

	connections *family // listener
	received    *family // listener
	delivered   *family // (local delivery into a Maildir)
	relayed     *family // (accepted by the smart host or the recipient's MX)
	deferred    *family // stage: local | relay
	bounced     *family // stage
	rejected    *family // listener, stage, code
	authFails   *family // service
	logins      *family // service
	latency     *family // stage
	spamLearn   *family // kind, result
	learnDelay  *family // (from the IMAP move to Rspamd's answer)

	mu     sync.Mutex
	active map[string]*atomic.Int64 // open connections per listener
}

// latencyBuckets cover local deliveries (milliseconds) to relayed mail that waited in the
// queue for hours.
var latencyBuckets = []float64{0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600, 14400, 86400}

// metricsSources are the gauges' inputs, read at each scrape.
type metricsSources struct {
	queue    func() (length int, oldest time.Time) // oldest is zero when the queue is empty
	certTill func() time.Time                      // the served certificate's NotAfter
	started  time.Time
}

func newServerMetrics(src metricsSources) *serverMetrics {
	r := &registry{}
	m := &serverMetrics{reg: r, active: make(map[string]*atomic.Int64)}
	m.connections = r.counter("postern_connections_total", "Connections accepted, per listener.", "listener")
	r.gauge("postern_connections_active", "Connections (sessions) open now, per listener.", m.activeSamples, "listener")
	m.received = r.counter("postern_messages_received_total", "Messages accepted by SMTP, submission or LMTP (after DATA), per listener.", "listener")
	m.delivered = r.counter("postern_messages_delivered_total", "Recipients delivered into a local mailbox.")
	m.relayed = r.counter("postern_messages_relayed_total", "Recipients accepted by the smart host or the recipient's MX.")
	m.deferred = r.counter("postern_messages_deferred_total", "Delivery attempts that failed temporarily, per stage (local, relay).", "stage")
	m.bounced = r.counter("postern_messages_bounced_total", "Recipients that failed permanently, per stage (local, relay).", "stage")
	m.rejected = r.counter("postern_messages_rejected_total", "SMTP commands refused, per listener, stage and enhanced status code.", "listener", "stage", "code")
	m.authFails = r.counter("postern_auth_failures_total", "Failed logins, per service (submission, submissions, imap, managesieve).", "service")
	m.logins = r.counter("postern_logins_total", "Successful logins, per service.", "service")
	m.spamLearn = r.counter("postern_spam_learn_total", "Spam learning requests sent to Rspamd (spamlearn), per kind (spam, ham) and result (learned, already, refused, dropped, deferred).", "kind", "result")
	m.learnDelay = r.histogram("postern_spam_learn_latency_seconds", "Time from the IMAP move that asked for a learn to Rspamd's answer.", latencyBuckets)
	m.latency = r.histogram("postern_delivery_latency_seconds", "Time from arrival to delivery, per stage (local, relay).", latencyBuckets, "stage")
	r.gauge("postern_queue_messages", "Messages in the outbound queue.", func() []gaugeSample {
		n, _ := src.queue()
		return []gaugeSample{{value: float64(n)}}
	})
	r.gauge("postern_queue_oldest_age_seconds", "Age of the oldest message in the outbound queue; 0 when it is empty.", func() []gaugeSample {
		_, oldest := src.queue()
		age := 0.0
		if !oldest.IsZero() {
			age = time.Since(oldest).Seconds()
		}
		return []gaugeSample{{value: age}}
	})
	r.gauge("postern_tls_certificate_expiry_timestamp_seconds", "When the served certificate expires (Unix time).", func() []gaugeSample {
		t := src.certTill()
		if t.IsZero() {
			return nil
		}
		return []gaugeSample{{value: float64(t.Unix())}}
	})
	r.gauge("postern_start_time_seconds", "When the daemon started (Unix time).", func() []gaugeSample {
		return []gaugeSample{{value: float64(src.started.Unix())}}
	})
	return m
}

func (m *serverMetrics) activeSamples() []gaugeSample {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make([]gaugeSample, 0, len(m.active))
	for name, n := range m.active {
		out = append(out, gaugeSample{values: []string{name}, value: float64(n.Load())})
	}
	return out
}

// countListener wraps ln so that accepted connections are counted for listener name.
func (m *serverMetrics) countListener(name string, ln net.Listener) net.Listener {
	m.mu.Lock()
	n := m.active[name]
	if n == nil {
		n = &atomic.Int64{}
		m.active[name] = n
	}
	m.mu.Unlock()
	m.connections.Add(0, name) // the series exists before the first connection
	return &countingListener{Listener: ln, name: name, m: m, active: n}
}

type countingListener struct {
	net.Listener
	name   string
	m      *serverMetrics
	active *atomic.Int64
}

func (l *countingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	l.m.connections.Inc(l.name)
	l.active.Add(1)
	return &countingConn{Conn: c, active: l.active}, nil
}

type countingConn struct {
	net.Conn
	active *atomic.Int64
	once   sync.Once
}

func (c *countingConn) Close() error {
	c.once.Do(func() { c.active.Add(-1) })
	return c.Conn.Close()
}

// logHandler wraps h so that the mail log's events are counted. Records are counted
// whatever the configured log level, then passed on if h wants them.
func (m *serverMetrics) logHandler(h slog.Handler) slog.Handler {
	return &metricsHandler{next: h, m: m}
}

type metricsHandler struct {
	next    slog.Handler
	m       *serverMetrics
	service string // from a logger's With("service", ...)
}

func (h *metricsHandler) Enabled(ctx context.Context, l slog.Level) bool {
	return l >= slog.LevelInfo || h.next.Enabled(ctx, l)
}

func (h *metricsHandler) Handle(ctx context.Context, r slog.Record) error {
	h.m.observe(h.service, r)
	if h.next.Enabled(ctx, r.Level) {
		return h.next.Handle(ctx, r)
	}
	return nil
}

func (h *metricsHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	n := *h
	n.next = h.next.WithAttrs(attrs)
	for _, a := range attrs {
		if a.Key == "service" {
			n.service = a.Value.String()
		}
	}
	return &n
}

func (h *metricsHandler) WithGroup(name string) slog.Handler {
	n := *h
	n.next = h.next.WithGroup(name)
	return &n
}

// observe counts one log record. The messages and keys matched here are the mail-log
// contract (smtp/log.go, server/deliver.go, smtp/queue's "delivery" line, imap/auth.go,
// sieve/managesieve/auth.go).
func (m *serverMetrics) observe(service string, r slog.Record) {
	switch r.Message {
	case "message", "reject", "auth", "delivered", "not delivered", "delivery", "spam learn":
	case "imap: auth failed":
		m.authFails.Inc("imap")
		return
	case "imap: login":
		m.logins.Inc("imap")
		return
	case "managesieve: authentication failed":
		m.authFails.Inc("managesieve")
		return
	case "managesieve: logged in":
		m.logins.Inc("managesieve")
		return
	default:
		return
	}
	a := recordAttrs(r)
	if a["service"] != "" {
		service = a["service"]
	}
	switch r.Message {
	case "message":
		m.received.Inc(service)
	case "reject":
		m.rejected.Inc(service, a["stage"], a["enhanced"])
	case "auth":
		if a["status"] == "fail" {
			m.authFails.Inc(service)
		} else if a["status"] == "ok" {
			m.logins.Inc(service)
		}
	case "spam learn":
		m.spamLearn.Inc(a["kind"], a["result"])
		if d, err := strconv.ParseFloat(a["delay"], 64); err == nil && a["result"] == "learned" {
			m.learnDelay.Observe(d)
		}
	case "delivered":
		m.delivered.Inc()
		m.observeDelay("local", a["delay"])
	case "not delivered":
		m.countFailure("local", a["status"])
	case "delivery":
		switch a["status"] {
		case "delivered":
			m.relayed.Inc()
			m.observeDelay("relay", a["delay"])
		case "deferred":
			m.deferred.Inc("relay")
		case "failed":
			m.bounced.Inc("relay")
		}
	}
}

func (m *serverMetrics) countFailure(stage, status string) {
	switch status {
	case "deferred":
		m.deferred.Inc(stage)
	case "bounced", "failed":
		m.bounced.Inc(stage)
	}
}

func (m *serverMetrics) observeDelay(stage, delay string) {
	if d, err := strconv.ParseFloat(delay, 64); err == nil && d >= 0 {
		m.latency.Observe(d, stage)
	}
}

// recordAttrs flattens a record's top-level attributes to strings.
func recordAttrs(r slog.Record) map[string]string {
	out := make(map[string]string, r.NumAttrs())
	r.Attrs(func(a slog.Attr) bool {
		out[a.Key] = a.Value.Resolve().String()
		return true
	})
	return out
}
