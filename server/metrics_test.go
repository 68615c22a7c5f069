package server

import (
	"bytes"
	"github.com/postern/postern/server/prom"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/postern/postern/event"
)

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
		event.IMAPSieveDropped{Reason: "user_share_full", User: "x", Cause: "FLAG"},
		event.IMAPSieveDropped{Reason: "shutdown"},
		event.IMAPSieveDropped{Reason: "shutdown"},
	} {
		sink.Emit(e)
	}
	for _, c := range []struct {
		f      *prom.Family
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
		{m.sieveDrops, []string{"user_share_full"}, 1},
		{m.sieveDrops, []string{"shutdown"}, 2},
		{m.sieveDrops, []string{"queue_full"}, 0},
	} {
		if got := c.f.Value(c.labels...); got != c.want {
			t.Errorf("%s%q = %v, want %v", c.f.Name(), c.labels, got, c.want)
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
	if s := m.activeSamples(); len(s) != 1 || s[0].Value != 1 {
		t.Errorf("active = %+v", s)
	}
	c.Close()
	c.Close()
	if s := m.activeSamples(); s[0].Value != 0 {
		t.Errorf("active after close = %+v", s)
	}
}
