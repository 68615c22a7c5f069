package server

import (
	"github.com/postern/postern/server/prom"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/postern/postern/event"
)

// serverMetrics is what /metrics reports. The mail counters are fed by the typed events
// (package event) that smtp, imap, managesieve, the queue and the delivery agent emit
// beside their mail-log lines; no counter depends on a log text. Connections are counted
// by wrapping each bound listener; queue and certificate gauges are read at scrape time.
type serverMetrics struct {
	reg *prom.Registry

	connections *prom.Family // listener
	received    *prom.Family // listener
	delivered   *prom.Family // (local delivery into a Maildir)
	relayed     *prom.Family // (accepted by the smart host or the recipient's MX)
	deferred    *prom.Family // stage: local | relay
	bounced     *prom.Family // stage
	rejected    *prom.Family // listener, stage, code
	authFails   *prom.Family // service
	logins      *prom.Family // service
	latency     *prom.Family // stage
	spamLearn   *prom.Family // kind, result
	learnDelay  *prom.Family // (from the IMAP move to Rspamd's answer)
	sieveDrops  *prom.Family // reason

	// byKind counts one event; every event.Kind has an entry (TestEveryEventCounted).
	byKind map[event.Kind]func(event.Event)

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
	trace    traceStats // nil without [trace]
}

// traceStats is what the trace recorder tells the metrics (trace.Recorder).
type traceStats interface {
	Dropped() int64
	StoredBytes() int64
}

func newServerMetrics(src metricsSources) *serverMetrics {
	r := &prom.Registry{}
	m := &serverMetrics{reg: r, active: make(map[string]*atomic.Int64)}
	m.connections = r.Counter("postern_connections_total", "Connections accepted, per listener.", "listener")
	r.Gauge("postern_connections_active", "Connections (sessions) open now, per listener.", m.activeSamples, "listener")
	m.received = r.Counter("postern_messages_received_total", "Messages accepted by SMTP, submission or LMTP (after DATA), per listener.", "listener")
	m.delivered = r.Counter("postern_messages_delivered_total", "Recipients delivered into a local mailbox.")
	m.relayed = r.Counter("postern_messages_relayed_total", "Recipients accepted by the smart host or the recipient's MX.")
	m.deferred = r.Counter("postern_messages_deferred_total", "Delivery attempts that failed temporarily, per stage (local, relay).", "stage")
	m.bounced = r.Counter("postern_messages_bounced_total", "Recipients that failed permanently, per stage (local, relay).", "stage")
	m.rejected = r.Counter("postern_messages_rejected_total", "SMTP commands refused, per listener, stage and enhanced status code.", "listener", "stage", "code")
	m.authFails = r.Counter("postern_auth_failures_total", "Failed logins, per service (submission, submissions, imap, managesieve).", "service")
	m.logins = r.Counter("postern_logins_total", "Successful logins, per service.", "service")
	m.spamLearn = r.Counter("postern_spam_learn_total", "Spam learning requests sent to Rspamd (spamlearn), per kind (spam, ham) and result (learned, already, refused, dropped, deferred).", "kind", "result")
	m.learnDelay = r.Histogram("postern_spam_learn_latency_seconds", "Time from the IMAP move that asked for a learn to Rspamd's answer.", latencyBuckets)
	m.sieveDrops = r.Counter("postern_imapsieve_events_dropped_total", "IMAP events whose [[sieve.imapsieve]] scripts did not run, per reason (queue_full: the 1,024-event queue; user_share_full: the user's eighth of it; shutdown: still waiting when the daemon stopped).", "reason")
	for _, why := range []string{"queue_full", "user_share_full", "shutdown"} {
		m.sieveDrops.Add(0, why) // the series exist before the first drop
	}
	m.latency = r.Histogram("postern_delivery_latency_seconds", "Time from arrival to delivery, per stage (local, relay).", latencyBuckets, "stage")
	m.byKind = m.counters()
	r.Gauge("postern_queue_messages", "Messages in the outbound queue.", func() []prom.GaugeSample {
		n, _ := src.queue()
		return []prom.GaugeSample{{Value: float64(n)}}
	})
	r.Gauge("postern_queue_oldest_age_seconds", "Age of the oldest message in the outbound queue; 0 when it is empty.", func() []prom.GaugeSample {
		_, oldest := src.queue()
		age := 0.0
		if !oldest.IsZero() {
			age = time.Since(oldest).Seconds()
		}
		return []prom.GaugeSample{{Value: age}}
	})
	r.Gauge("postern_tls_certificate_expiry_timestamp_seconds", "When the served certificate expires (Unix time).", func() []prom.GaugeSample {
		t := src.certTill()
		if t.IsZero() {
			return nil
		}
		return []prom.GaugeSample{{Value: float64(t.Unix())}}
	})
	if src.trace != nil {
		r.CounterFunc("postern_trace_events_dropped_total", "Trace events dropped because the trace writer was behind (the trace of those sessions is incomplete; mail is not affected).", func() []prom.GaugeSample {
			return []prom.GaugeSample{{Value: float64(src.trace.Dropped())}}
		})
		r.Gauge("postern_trace_stored_bytes", "What the kept trace events add up to, as counted against [trace] max_size.", func() []prom.GaugeSample {
			return []prom.GaugeSample{{Value: float64(src.trace.StoredBytes())}}
		})
	}
	r.Gauge("postern_start_time_seconds", "When the daemon started (Unix time).", func() []prom.GaugeSample {
		return []prom.GaugeSample{{Value: float64(src.started.Unix())}}
	})
	return m
}

func (m *serverMetrics) activeSamples() []prom.GaugeSample {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make([]prom.GaugeSample, 0, len(m.active))
	for name, n := range m.active {
		out = append(out, prom.GaugeSample{Values: []string{name}, Value: float64(n.Load())})
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

// counters says what each kind of event counts.
func (m *serverMetrics) counters() map[event.Kind]func(event.Event) {
	return map[event.Kind]func(event.Event){
		event.KindReceived: func(e event.Event) { m.received.Inc(e.(event.Received).Service) },
		event.KindRejected: func(e event.Event) {
			r := e.(event.Rejected)
			m.rejected.Inc(r.Service, r.Stage, r.Enhanced)
		},
		event.KindLogin: func(e event.Event) {
			if l := e.(event.Login); l.OK {
				m.logins.Inc(l.Service)
			} else {
				m.authFails.Inc(l.Service)
			}
		},
		event.KindDelivery:         func(e event.Event) { m.countDelivery(e.(event.Delivery)) },
		event.KindIMAPSieveDropped: func(e event.Event) { m.sieveDrops.Inc(e.(event.IMAPSieveDropped).Reason) },
		event.KindSpamLearn: func(e event.Event) {
			l := e.(event.SpamLearn)
			m.spamLearn.Inc(l.Class, l.Result)
			if l.Result == "learned" {
				m.learnDelay.Observe(l.Delay.Seconds())
			}
		},
	}
}

// count counts one event.
func (m *serverMetrics) count(e event.Event) {
	if f := m.byKind[e.Kind()]; f != nil {
		f(e)
	}
}

// countDelivery counts one recipient's outcome: a local delivery is "delivered", one the
// smart host or MX accepted "relayed"; failures per stage.
func (m *serverMetrics) countDelivery(d event.Delivery) {
	stage := string(d.Stage)
	switch d.Status {
	case event.Delivered:
		if d.Stage == event.StageLocal {
			m.delivered.Inc()
		} else {
			m.relayed.Inc()
		}
		m.latency.Observe(d.Delay.Seconds(), stage)
	case event.Deferred:
		m.deferred.Inc(stage)
	case event.Bounced:
		m.bounced.Inc(stage)
	}
}
