package queue

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"log/slog"
	"math/rand/v2"
	"strings"
	"sync"
	"testing"
	"time"
)

// fakeClock is a Clock whose time moves only when a test says so.
type fakeClock struct {
	mu     sync.Mutex
	now    time.Time
	timers []*fakeTimer
}

type fakeTimer struct {
	c       chan time.Time
	at      time.Time
	stopped bool
}

func (t *fakeTimer) C() <-chan time.Time { return t.c }
func (t *fakeTimer) Stop() bool {
	t.stopped = true
	return true
}

func newFakeClock() *fakeClock {
	return &fakeClock{now: time.Date(2026, 3, 5, 10, 12, 1, 0, time.UTC)}
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) NewTimer(d time.Duration) Timer {
	c.mu.Lock()
	defer c.mu.Unlock()
	t := &fakeTimer{c: make(chan time.Time, 1), at: c.now.Add(d)}
	if d <= 0 {
		t.c <- c.now
		return t
	}
	c.timers = append(c.timers, t)
	return t
}

// Advance moves time forward and fires the timers that are due.
func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
	kept := c.timers[:0]
	for _, t := range c.timers {
		if t.stopped {
			continue
		}
		if !t.at.After(c.now) {
			t.c <- c.now
			continue
		}
		kept = append(kept, t)
	}
	c.timers = kept
}

// call is one Transport.Send call as the fake saw it.
type call struct {
	id      string
	from    string
	rcpts   []string
	body    string
	attempt int
}

// fakeTransport answers with a function of (call) and reports calls.
type fakeTransport struct {
	answer func(c call) []Result
	calls  chan call
}

func newTransport(answer func(c call) []Result) *fakeTransport {
	return &fakeTransport{answer: answer, calls: make(chan call, 1000)}
}

func (f *fakeTransport) Send(ctx context.Context, m *Message, rcpts []string) []Result {
	body, err := io.ReadAll(m.Body())
	if err != nil {
		panic(err)
	}
	c := call{id: m.ID, from: m.From, rcpts: rcpts, body: string(body), attempt: m.Attempt}
	res := f.answer(c)
	f.calls <- c
	return res
}

func (f *fakeTransport) next(t *testing.T) call {
	t.Helper()
	select {
	case c := <-f.calls:
		return c
	case <-time.After(10 * time.Second):
		t.Fatal("no delivery attempt")
		return call{}
	}
}

func (f *fakeTransport) none(t *testing.T) {
	t.Helper()
	select {
	case c := <-f.calls:
		t.Fatalf("unexpected delivery attempt %+v", c)
	default:
	}
}

func deliverAll(c call) []Result {
	out := make([]Result, len(c.rcpts))
	for i, r := range c.rcpts {
		out[i] = Result{Rcpt: r, Delivered: true, Code: 250, RemoteMTA: "relay.test"}
	}
	return out
}

func answerAll(code int, enh, text string) func(c call) []Result {
	return func(c call) []Result {
		out := make([]Result, len(c.rcpts))
		for i, r := range c.rcpts {
			out[i] = Result{Rcpt: r, Delivered: code/100 == 2, Temporary: code/100 != 5,
				Code: code, Enhanced: enh, Text: text, RemoteMTA: "relay.test"}
		}
		return out
	}
}

type fakeBouncer struct {
	ch  chan *Bounce
	err error
}

func newBouncer() *fakeBouncer { return &fakeBouncer{ch: make(chan *Bounce, 100)} }

func (b *fakeBouncer) Bounce(ctx context.Context, x *Bounce) error {
	if b.err != nil {
		return b.err
	}
	b.ch <- x
	return nil
}

func (b *fakeBouncer) next(t *testing.T) *Bounce {
	t.Helper()
	select {
	case x := <-b.ch:
		return x
	case <-time.After(10 * time.Second):
		t.Fatal("no bounce")
		return nil
	}
}

// harness is a queue with fakes, running until the test ends.
type harness struct {
	q     *Queue
	dir   string
	clock *fakeClock
	tr    *fakeTransport
	bo    *fakeBouncer
	opts  Options
}

func newHarness(t *testing.T, tr *fakeTransport, mod func(*Options)) *harness {
	t.Helper()
	h := &harness{dir: t.TempDir(), clock: newFakeClock(), tr: tr, bo: newBouncer()}
	h.opts = Options{
		Transport: tr, Hostname: "mail.example.com", Clock: h.clock,
		Rand:   rand.New(rand.NewPCG(1, 2)),
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
	}
	if mod != nil {
		mod(&h.opts)
	}
	h.open(t)
	return h
}

func (h *harness) open(t *testing.T) {
	t.Helper()
	q, err := Open(h.dir, h.opts)
	if err != nil {
		t.Fatal(err)
	}
	h.q = q
}

// run starts the scheduler and stops it at the end of the test (or when
// the returned function is called).
func (h *harness) run(t *testing.T) (stop func()) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		h.q.Run(ctx, h.bo)
		close(done)
	}()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			<-done
			h.q.Close()
		})
	}
	t.Cleanup(stop)
	return stop
}

func (h *harness) enqueue(t *testing.T, from string, rcpts ...string) string {
	t.Helper()
	id, err := h.q.Enqueue(context.Background(), Envelope{From: from, Rcpts: rcpts}, strings.NewReader(testMessage))
	if err != nil {
		t.Fatal(err)
	}
	return id
}

const testMessage = "From: alice@example.com\r\nTo: bob@example.org\r\nSubject: lunch?\r\nMessage-ID: <1@example.com>\r\n\r\nAt noon.\r\n"

// eventually polls cond: some effects (removal after the last result) have
// no event a test could wait on.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

func (h *harness) statusOf(t *testing.T, id, rcpt string) RcptInfo {
	t.Helper()
	for _, in := range h.q.List() {
		if in.ID == id {
			for _, r := range in.Rcpts {
				if r.Addr == rcpt {
					return r
				}
			}
		}
	}
	t.Fatalf("no %s in %s", rcpt, id)
	return RcptInfo{}
}

func mustContain(t *testing.T, s string, subs ...string) {
	t.Helper()
	for _, sub := range subs {
		if !strings.Contains(s, sub) {
			t.Errorf("missing %q in:\n%s", sub, s)
		}
	}
}

type bufioR = bufio.Reader

func newBufioR(b []byte) *bufio.Reader { return bufio.NewReader(bytes.NewReader(b)) }
