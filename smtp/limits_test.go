package smtp

import (
	"context"
	"errors"
	"io"
	"net/netip"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/postern/postern/connset"
	"github.com/postern/postern/event"
	"github.com/postern/postern/event/eventtest"
)

// wantEvent fails unless rec comes to hold want within 5 s (the metrics count what
// the log line says; the event is emitted just after the line is written).
func wantEvent(t *testing.T, rec *eventtest.Recorder, want event.Rejected) {
	t.Helper()
	match := func(e event.Event) bool {
		r, ok := e.(event.Rejected)
		return ok && r.Service == want.Service && r.Session == want.Session && r.Stage == want.Stage &&
			r.Code == want.Code && r.Enhanced == want.Enhanced && r.Reason == want.Reason
	}
	for deadline := time.Now().Add(5 * time.Second); !slices.ContainsFunc(rec.All(), match); {
		if time.Now().After(deadline) {
			t.Fatalf("no event %#v in %#v", want, rec.All())
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// oneConn admits one connection at a time, as a stand-in for server/limits.Conns.
type oneConn struct {
	mu   sync.Mutex
	open bool
	seen []netip.Addr
}

func (o *oneConn) Admit(a netip.Addr) (func(), error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.seen = append(o.seen, a)
	if o.open {
		return nil, errors.New("too many connections from your network")
	}
	o.open = true
	return func() { o.mu.Lock(); o.open = false; o.mu.Unlock() }, nil
}

func TestConnectionLimiter(t *testing.T) {
	t.Parallel()
	lim := &oneConn{}
	rec := &eventtest.Recorder{}
	e := start(t, func(o *Options) { o.ConnLimiter = lim; o.Events = rec })
	a := e.dial(t)
	a.expect("220 ")
	b := e.dial(t)
	b.expect("421 4.7.0 mx.example.test Error: too many connections from your network")
	b.expectClosed()
	r := e.logs.wait(t, func(r logRec) bool { return r.msg == "reject" && r.attrs[KeyStage] == "connect" })
	if r.attrs[KeyCode] != "421" || r.attrs[KeyEnhanced] != "4.7.0" || r.attrs[KeySession] == "" {
		t.Errorf("reject line %v", r.attrs)
	}
	wantEvent(t, rec, event.Rejected{Service: "smtp", Session: r.attrs[KeySession], Stage: "connect", Code: 421,
		Enhanced: "4.7.0", Reason: "Error: too many connections from your network"})
	a.cmd("QUIT", "221")
	e.logs.wait(t, isMsg("disconnect"))
	c := e.dial(t)
	c.expect("220 ")
	if n := len(e.logs.find("helo")); n != 0 {
		t.Errorf("a refused connection got a session: %d helo lines", n)
	}
	lim.mu.Lock()
	defer lim.mu.Unlock()
	if len(lim.seen) != 3 || lim.seen[0] != netip.MustParseAddr("127.0.0.1") {
		t.Errorf("limiter saw %v", lim.seen)
	}
}

// TestLMTPOverTCPStrangers: on LMTP over TCP a client outside TrustedNetworks is
// answered 554 5.7.1 and closed without being counted by the ConnLimiter; a trusted
// one is served.
func TestLMTPOverTCPStrangers(t *testing.T) {
	t.Parallel()
	lim := &oneConn{}
	rec := &eventtest.Recorder{}
	e := startOn(t, "tcp", func(o *Options) {
		o.Role = RoleLMTP
		o.ConnLimiter = lim
		o.Events = rec
		o.TrustedNetworks = []netip.Prefix{netip.MustParsePrefix("127.0.0.2/32")}
	})
	for range 3 {
		c := e.dial(t)
		c.expect("554 5.7.1 mx.example.test Error: LMTP service for trusted networks only")
		c.expectClosed()
	}
	r := e.logs.wait(t, func(r logRec) bool { return r.msg == "reject" && r.attrs[KeyStage] == "connect" })
	wantEvent(t, rec, event.Rejected{Service: "lmtp", Session: r.attrs[KeySession], Stage: "connect", Code: 554,
		Enhanced: "5.7.1", Reason: "Error: LMTP service for trusted networks only"})
	lim.mu.Lock()
	if len(lim.seen) != 0 {
		t.Errorf("strangers were counted by the limiter: %v", lim.seen)
	}
	lim.mu.Unlock()
	c := e.dialFrom(t, "127.0.0.2")
	c.expect("220 ")
	c.cmd("LHLO mta.example.org", "250")
	c.cmd("MAIL FROM:<bob@example.org>", "250")
	if n := len(e.logs.find("helo")); n != 1 {
		t.Errorf("%d helo lines, want the trusted client's only", n)
	}
}

func TestSubmissionLoginTimeout(t *testing.T) {
	t.Parallel()
	rec := &eventtest.Recorder{}
	e := startSubmission(t, RoleSubmission, func(o *Options) { o.LoginTimeout = 300 * time.Millisecond; o.Events = rec })
	c := e.dial(t)
	c.expect("220 ")
	c.expectClosed()
	r := e.logs.wait(t, func(r logRec) bool { return r.msg == "reject" && r.attrs[KeyReason] == "login timeout" })
	wantEvent(t, rec, event.Rejected{Service: "submission", Session: r.attrs[KeySession], Stage: "auth", Reason: "login timeout"})
	// A client that logs in in time keeps its session past the timeout.
	d := e.loginTLS(t)
	time.Sleep(500 * time.Millisecond) // longer than the timeout: the connection must survive it
	d.cmd("NOOP", "250")
}

func TestIdleTimeoutPerRead(t *testing.T) {
	t.Parallel()
	// Each read comes a quarter of the timeout after the last (not closer to it: under
	// -race on a loaded machine a 100 ms gap once took longer than 300 ms).
	e := start(t, func(o *Options) { o.CommandTimeout = time.Second; o.DataTimeout = time.Second })
	c := e.dial(t)
	c.greet("mail.example.org")
	c.cmd("MAIL FROM:<bob@example.org>", "250")
	c.cmd("RCPT TO:<alice@example.test>", "250")
	c.cmd("DATA", "354")
	// The whole DATA takes far longer than the timeout, each read well within it.
	start := time.Now()
	for i := 0; i < 8; i++ {
		c.send("line " + strings.Repeat("x", 10) + "\r\n")
		time.Sleep(250 * time.Millisecond)
	}
	c.send(".\r\n")
	c.expect("250")
	if time.Since(start) < 2*time.Second {
		t.Fatal("test did not outlast the timeout")
	}
	// Now stall in the middle of a DATA: the server gives up after one timeout.
	c.cmd("MAIL FROM:<bob@example.org>", "250")
	c.cmd("RCPT TO:<alice@example.test>", "250")
	c.cmd("DATA", "354")
	c.send("Subject: stalled\r\n")
	c.expect("421 4.4.2") // our reply to the DATA
	c.expect("421 4.4.2") // go-smtp's, as it reads the next command
	c.expectClosed()
	r := e.logs.wait(t, isMsg("timeout"))
	if r.attrs[KeyStage] != "data" {
		t.Errorf("timeout line %v", r.attrs)
	}
	if got := e.deliv.got(); len(got) != 1 {
		t.Fatalf("delivered %d messages, want 1", len(got))
	}
}

func TestCommandTimeout(t *testing.T) {
	t.Parallel()
	e := start(t, func(o *Options) { o.CommandTimeout = 200 * time.Millisecond })
	c := e.dial(t)
	c.expect("220 ")
	c.expect("421 4.4.2")
	c.expectClosed()
	e.logs.wait(t, func(r logRec) bool { return r.msg == "timeout" && r.attrs[KeyStage] == "command" })
}

func TestPanicInDelivererRecovered(t *testing.T) {
	t.Parallel()
	e := start(t, nil)
	e.deliv.hook = func(env *Envelope) []error {
		if strings.Contains(env.From, "panic") {
			panic("deliverer exploded")
		}
		return make([]error, len(env.Recipients))
	}
	c := e.dial(t)
	c.greet("mail.example.org")
	c.cmd("MAIL FROM:<panic@example.org>", "250")
	c.cmd("RCPT TO:<alice@example.test>", "250")
	c.cmd("DATA", "354")
	c.send(msg("x\r\n") + ".\r\n")
	c.expect("421")
	c.expectClosed()
	p := e.logs.wait(t, isMsg("panic"))
	if p.attrs[KeyPanic] != "deliverer exploded" || !strings.Contains(p.attrs[KeyStack], "Deliver") || p.attrs[KeySession] == "" {
		t.Errorf("panic line %v", p.attrs)
	}
	if n := len(e.logs.find("smtp library")); n != 0 {
		t.Errorf("panic reported twice: %v", e.logs.find("smtp library"))
	}
	// The server goes on.
	c2 := e.dial(t)
	c2.greet("mail.example.org")
	c2.cmd("MAIL FROM:<bob@example.org>", "250")
	c2.cmd("RCPT TO:<boom@example.test>", "421") // the Policy panics too
	c3 := e.dial(t)
	c3.greet("mail.example.org")
	c3.cmd("MAIL FROM:<bob@example.org>", "250")
	c3.cmd("RCPT TO:<alice@example.test>", "250")
	c3.cmd("DATA", "354")
	c3.send(msg("x\r\n") + ".\r\n")
	c3.expect("250")
}

func TestShutdownClosesAfterDeadline(t *testing.T) {
	t.Parallel()
	e := start(t, nil)
	c := e.dial(t)
	c.greet("mail.example.org")
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	if err := e.srv.Shutdown(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Shutdown = %v, want deadline exceeded", err)
	}
	c.expectClosed()
	e.logs.wait(t, isMsg("disconnect"))
}

// refuseAll refuses every connection, as a full server/limits.Conns would.
type refuseAll struct{}

func (refuseAll) Admit(netip.Addr) (func(), error) { return nil, errors.New("too many connections") }

// TestRefusalWritersBounded: 300 refused clients of 465 that never start their TLS
// handshake (each refusal would wait for one) cost at most the Refuser's writers in
// goroutines, and every one is closed within the refusal deadline. Not parallel: it
// counts goroutines.
func TestRefusalWritersBounded(t *testing.T) {
	e := startSubmission(t, RoleSubmissions, func(o *Options) { o.ConnLimiter = refuseAll{} })
	before := runtime.NumGoroutine()
	start := time.Now()
	var clients []*rawClient
	for range 300 {
		clients = append(clients, e.dial(t))
	}
	for deadline := time.Now().Add(10 * time.Second); len(e.logs.find("reject")) < 300; {
		if time.Now().After(deadline) {
			t.Fatalf("%d of 300 connections refused", len(e.logs.find("reject")))
		}
		time.Sleep(5 * time.Millisecond)
	}
	grew := 0
	for range 20 { // the peak over 200 ms, within the 2 s the writers live
		grew = max(grew, runtime.NumGoroutine()-before)
		time.Sleep(10 * time.Millisecond)
	}
	if grew > connset.DefaultRefusers+16 {
		t.Fatalf("300 silent refused clients run %d more goroutines, want about %d", grew, connset.DefaultRefusers)
	}
	for i, c := range clients {
		c.conn.SetReadDeadline(start.Add(connset.DefaultRefuseTimeout + 5*time.Second))
		if _, err := c.r.ReadByte(); err != io.EOF {
			t.Fatalf("refused client %d: %v, want closed", i, err)
		}
	}
	t.Logf("300 silent refused clients: at most %d more goroutines, all closed within %v", grew, time.Since(start).Round(time.Millisecond))
}
