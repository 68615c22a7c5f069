package server

import (
	"bytes"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/postern/postern/event"
)

func TestRegistryExposition(t *testing.T) {
	t.Parallel()
	r := &registry{}
	c := r.counter("x_total", "Things\\counted.\nTwice.", "listener")
	c.Inc("smtp")
	c.Add(2, `we"ird\`)
	h := r.histogram("lat_seconds", "Latency.", []float64{0.1, 1})
	h.Observe(0.05)
	h.Observe(0.5)
	h.Observe(5)
	r.gauge("q", "Queue.", func() []gaugeSample { return []gaugeSample{{value: 3}} })
	var b bytes.Buffer
	if _, err := r.WriteTo(&b); err != nil {
		t.Fatal(err)
	}
	want := `# HELP x_total Things\\counted.\nTwice.
# TYPE x_total counter
x_total{listener="smtp"} 1
x_total{listener="we\"ird\\"} 2
# HELP lat_seconds Latency.
# TYPE lat_seconds histogram
lat_seconds_bucket{le="0.1"} 1
lat_seconds_bucket{le="1"} 2
lat_seconds_bucket{le="+Inf"} 3
lat_seconds_sum 5.55
lat_seconds_count 3
# HELP q Queue.
# TYPE q gauge
q 3
`
	if b.String() != want {
		t.Errorf("got\n%s\nwant\n%s", b.String(), want)
	}
}

func testMetrics() *serverMetrics {
	return newServerMetrics(metricsSources{queue: func() (int, time.Time) { return 0, time.Time{} }, certTill: func() time.Time { return time.Time{} }})
}

func TestMetricsCountEvents(t *testing.T) {
	t.Parallel()
	m := testMetrics()
	sink := &eventSink{metrics: m}
	for _, e := range []event.Event{
		event.Received{Service: "submission", ID: "1"},
		event.Login{Service: "submission", User: "x"},
		event.Login{Service: "submission", User: "x", OK: true},
		event.Rejected{Service: "submission", Stage: "rcpt", Code: 550, Enhanced: "5.7.1"},
		event.Delivery{Stage: event.StageLocal, Status: event.Delivered, Delay: 20 * time.Millisecond},
		event.Delivery{Stage: event.StageLocal, Status: event.Bounced},
		event.Delivery{Stage: event.StageRelay, Status: event.Delivered, Delay: 12500 * time.Millisecond},
		event.Delivery{Stage: event.StageRelay, Status: event.Deferred},
		event.Login{Service: "imap", User: "x"},
		event.Login{Service: "managesieve"},
		event.SpamLearn{Class: "spam", Result: "learned", Delay: time.Second},
	} {
		sink.Emit(e)
	}
	for _, c := range []struct {
		f      *family
		labels []string
		want   float64
	}{
		{m.received, []string{"submission"}, 1},
		{m.authFails, []string{"submission"}, 1},
		{m.logins, []string{"submission"}, 1},
		{m.rejected, []string{"submission", "rcpt", "5.7.1"}, 1},
		{m.delivered, nil, 1},
		{m.bounced, []string{"local"}, 1},
		{m.relayed, nil, 1},
		{m.deferred, []string{"relay"}, 1},
		{m.authFails, []string{"imap"}, 1},
		{m.authFails, []string{"managesieve"}, 1},
		{m.spamLearn, []string{"spam", "learned"}, 1},
	} {
		if got := c.f.Value(c.labels...); got != c.want {
			t.Errorf("%s%q = %v, want %v", c.f.name, c.labels, got, c.want)
		}
	}
	var b bytes.Buffer
	m.reg.WriteTo(&b)
	for _, want := range []string{`postern_delivery_latency_seconds_count{stage="relay"} 1`, `postern_delivery_latency_seconds_sum{stage="local"} 0.02`} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("latency: no %q in\n%s", want, b.String())
		}
	}
}

// TestEveryEventCounted fails when a kind of event has no counter: a new event type must
// be given one in serverMetrics.counters.
func TestEveryEventCounted(t *testing.T) {
	t.Parallel()
	m := testMetrics()
	for k := event.Kind(0); k < event.NumKinds; k++ {
		if m.byKind[k] == nil {
			t.Errorf("event kind %s (%d) has no counter", k, k)
		}
	}
}

func TestCountListener(t *testing.T) {
	t.Parallel()
	m := testMetrics()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	cl := m.countListener("imap", ln)
	defer cl.Close()
	go func() {
		c, err := net.Dial("tcp", ln.Addr().String())
		if err == nil {
			c.Close()
		}
	}()
	c, err := cl.Accept()
	if err != nil {
		t.Fatal(err)
	}
	if got := m.connections.Value("imap"); got != 1 {
		t.Errorf("connections = %v", got)
	}
	if s := m.activeSamples(); len(s) != 1 || s[0].value != 1 {
		t.Errorf("active = %+v", s)
	}
	c.Close()
	c.Close()
	if s := m.activeSamples(); s[0].value != 0 {
		t.Errorf("active after close = %+v", s)
	}
}
