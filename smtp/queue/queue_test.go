package queue

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func TestEnqueueDeliver(t *testing.T) {
	t.Parallel()
	h := newHarness(t, newTransport(deliverAll), nil)
	id := h.enqueue(t, "alice@example.com", "bob@example.org", "carol@example.net")
	if _, err := os.Stat(filepath.Join(h.dir, id)); err != nil {
		t.Fatalf("message file missing after Enqueue: %v", err)
	}
	h.run(t)
	c := h.tr.next(t)
	if c.id != id || c.from != "alice@example.com" || strings.Join(c.rcpts, ",") != "bob@example.org,carol@example.net" {
		t.Errorf("call = %+v", c)
	}
	if c.body != testMessage {
		t.Errorf("body = %q", c.body)
	}
	if c.attempt != 1 {
		t.Errorf("attempt = %d", c.attempt)
	}
	eventually(t, "removal", func() bool { return h.q.Len() == 0 })
	des, _ := os.ReadDir(h.dir)
	if len(des) != 0 {
		t.Errorf("files left: %v", des)
	}
}

func TestEnqueueRefusesBadEnvelope(t *testing.T) {
	t.Parallel()
	h := newHarness(t, newTransport(deliverAll), nil)
	for _, env := range []Envelope{
		{From: "a@b"},
		{From: "a@b", Rcpts: []string{""}},
		{From: "a@b\r\nRCPT TO:<x@y>", Rcpts: []string{"c@d"}},
		{From: "a@b", Rcpts: []string{"c@d>"}},
	} {
		if _, err := h.q.Enqueue(context.Background(), env, strings.NewReader("x")); err == nil {
			t.Errorf("Enqueue(%+v) accepted", env)
		}
	}
	if h.q.Len() != 0 {
		t.Errorf("Len = %d", h.q.Len())
	}
}

func TestMaxMessageSize(t *testing.T) {
	t.Parallel()
	h := newHarness(t, newTransport(deliverAll), func(o *Options) { o.MaxMessageSize = 10 })
	_, err := h.q.Enqueue(context.Background(), Envelope{From: "a@b", Rcpts: []string{"c@d"}}, strings.NewReader(testMessage))
	if !errors.Is(err, ErrTooBig) {
		t.Fatalf("err = %v", err)
	}
	des, _ := os.ReadDir(h.dir)
	if len(des) != 0 {
		t.Errorf("files left: %v", des)
	}
}

func TestDeferThenDeliverAfterBackoff(t *testing.T) {
	t.Parallel()
	var n atomic.Int32
	tr := newTransport(func(c call) []Result {
		if n.Add(1) == 1 {
			return answerAll(451, "4.3.0", "try later")(c)
		}
		return deliverAll(c)
	})
	h := newHarness(t, tr, nil)
	h.run(t)
	start := h.clock.Now()
	id := h.enqueue(t, "alice@example.com", "bob@example.org")
	h.tr.next(t)
	eventually(t, "deferral", func() bool {
		in := h.q.List()
		return len(in) == 1 && !in[0].Active && in[0].Rcpts[0].Status == StatusDeferred
	})
	r := h.statusOf(t, id, "bob@example.org")
	if r.Code != 451 || r.Enhanced != "4.3.0" || r.LastError != "try later" {
		t.Errorf("status = %+v", r)
	}
	next := h.q.NextDue().Sub(start)
	if next < 4*time.Minute || next > 6*time.Minute {
		t.Errorf("next attempt after %v, want 5m +-20%%", next)
	}
	h.clock.Advance(3 * time.Minute)
	h.tr.none(t)
	h.clock.Advance(4 * time.Minute)
	c := h.tr.next(t)
	if c.attempt != 2 {
		t.Errorf("attempt = %d", c.attempt)
	}
	eventually(t, "removal", func() bool { return h.q.Len() == 0 })
}

func TestBackoffGrowsAndCaps(t *testing.T) {
	t.Parallel()
	h := newHarness(t, newTransport(deliverAll), func(o *Options) {
		o.MinBackoff = time.Minute
		o.MaxBackoff = 10 * time.Minute
	})
	for n, want := range map[int]time.Duration{1: time.Minute, 2: 2 * time.Minute, 4: 8 * time.Minute, 5: 10 * time.Minute, 30: 10 * time.Minute} {
		got := h.q.backoff(n)
		if got < want*8/10 || got > want*12/10 {
			t.Errorf("backoff(%d) = %v, want %v +-20%%", n, got, want)
		}
	}
}

func TestPermanentFailureBounces(t *testing.T) {
	t.Parallel()
	tr := newTransport(func(c call) []Result {
		var out []Result
		for _, r := range c.rcpts {
			if r == "bad@example.org" {
				out = append(out, Result{Rcpt: r, Code: 550, Enhanced: "5.1.1", Text: "no such user", RemoteMTA: "relay.test"})
			} else {
				out = append(out, Result{Rcpt: r, Delivered: true, Code: 250})
			}
		}
		return out
	})
	h := newHarness(t, tr, nil)
	h.run(t)
	id := h.enqueue(t, "alice@example.com", "bob@example.org", "bad@example.org")
	b := h.bo.next(t)
	if b.To != "alice@example.com" || b.QueueID != id || b.Kind != BounceFailed || strings.Join(b.Rcpts, ",") != "bad@example.org" {
		t.Errorf("bounce = %+v", b)
	}
	checkDSN(t, b.Message, "failed", "bad@example.org", "5.1.1")
	eventually(t, "removal", func() bool { return h.q.Len() == 0 })
}

func TestNullSenderGetsNoDSN(t *testing.T) {
	t.Parallel()
	h := newHarness(t, newTransport(answerAll(550, "5.1.1", "no such user")), nil)
	h.run(t)
	h.enqueue(t, "", "bob@example.org")
	h.tr.next(t)
	eventually(t, "removal", func() bool { return h.q.Len() == 0 })
	select {
	case b := <-h.bo.ch:
		t.Fatalf("bounce to null sender: %+v", b)
	default:
	}
}

func TestBouncerFailureKeepsMessage(t *testing.T) {
	t.Parallel()
	h := newHarness(t, newTransport(answerAll(550, "5.1.1", "no such user")), nil)
	h.bo.err = errors.New("disk full")
	h.run(t)
	id := h.enqueue(t, "alice@example.com", "bob@example.org")
	h.tr.next(t)
	eventually(t, "reschedule", func() bool { in := h.q.List(); return len(in) == 1 && !in[0].Active })
	if s := h.statusOf(t, id, "bob@example.org"); s.Status != StatusFailed {
		t.Errorf("status = %+v", s)
	}
	h.bo.err = nil
	if err := h.q.Retry(id); err != nil {
		t.Fatal(err)
	}
	b := h.bo.next(t)
	checkDSN(t, b.Message, "failed", "bob@example.org", "5.1.1")
	eventually(t, "removal", func() bool { return h.q.Len() == 0 })
	h.tr.none(t) // the retry did not deliver again
}

func TestLifetimeExpiry(t *testing.T) {
	t.Parallel()
	h := newHarness(t, newTransport(answerAll(421, "4.4.2", "busy")), func(o *Options) {
		o.MinBackoff = 10 * time.Minute
		o.MaxBackoff = 10 * time.Minute
		o.Lifetime = 30 * time.Minute
	})
	h.run(t)
	h.enqueue(t, "alice@example.com", "bob@example.org")
	for i := 1; ; i++ {
		c := h.tr.next(t)
		if c.attempt != i {
			t.Fatalf("attempt %d, want %d", c.attempt, i)
		}
		if i == 5 {
			t.Fatal("not expired after 5 attempts")
		}
		eventually(t, "attempt end", func() bool {
			in := h.q.List()
			return len(in) == 0 || !in[0].Active
		})
		if h.q.Len() == 0 {
			break
		}
		h.clock.Advance(13 * time.Minute)
	}
	b := h.bo.next(t)
	checkDSN(t, b.Message, "failed", "bob@example.org", "4.4.7")
	mustContain(t, string(b.Message), "expired", "busy")
}

func TestDelayWarning(t *testing.T) {
	t.Parallel()
	h := newHarness(t, newTransport(answerAll(451, "4.3.0", "later")), func(o *Options) {
		o.MinBackoff = time.Hour
		o.DelayWarning = time.Minute
	})
	h.run(t)
	h.enqueue(t, "alice@example.com", "bob@example.org")
	h.tr.next(t)
	eventually(t, "deferral", func() bool { in := h.q.List(); return !in[0].Active })
	h.bo.none(t)
	h.clock.Advance(2 * time.Hour)
	h.tr.next(t)
	b := h.bo.next(t)
	if b.Kind != BounceDelayed {
		t.Errorf("kind = %s", b.Kind)
	}
	checkDSN(t, b.Message, "delayed", "bob@example.org", "4.3.0")
	mustContain(t, string(b.Message), "Will-Retry-Until:")
	eventually(t, "deferral", func() bool { in := h.q.List(); return !in[0].Active })
	h.clock.Advance(3 * time.Hour)
	h.tr.next(t)
	eventually(t, "deferral", func() bool { in := h.q.List(); return !in[0].Active })
	h.bo.none(t) // only one warning
	if h.q.Len() != 1 {
		t.Error("message gone")
	}
}

func (b *fakeBouncer) none(t *testing.T) {
	t.Helper()
	select {
	case x := <-b.ch:
		t.Fatalf("unexpected bounce %+v", x)
	default:
	}
}

func TestHoldReleaseDeleteFlush(t *testing.T) {
	t.Parallel()
	h := newHarness(t, newTransport(answerAll(451, "4.3.0", "later")), nil)
	held := h.enqueue(t, "alice@example.com", "held@example.org")
	if err := h.q.Hold(held); err != nil {
		t.Fatal(err)
	}
	gone := h.enqueue(t, "alice@example.com", "gone@example.org")
	if err := h.q.Delete(gone); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(h.dir, gone)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("deleted message file: %v", err)
	}
	if err := h.q.Delete(gone); !errors.Is(err, ErrNotFound) {
		t.Errorf("second Delete: %v", err)
	}
	if err := h.q.Hold("../../etc/passwd"); !errors.Is(err, ErrNotFound) {
		t.Errorf("Hold(path): %v", err)
	}
	other := h.enqueue(t, "alice@example.com", "other@example.org")
	h.run(t)
	if c := h.tr.next(t); c.id != other {
		t.Fatalf("attempted %s, want %s (held one must wait)", c.id, other)
	}
	eventually(t, "deferral", func() bool { return !h.info(t, other).Active })
	h.tr.none(t)

	if n := h.q.Flush(); n != 1 {
		t.Errorf("Flush = %d, want 1 (the held message stays)", n)
	}
	if c := h.tr.next(t); c.id != other || c.attempt != 2 {
		t.Errorf("flush attempt = %+v", c)
	}
	if err := h.q.Release(held); err != nil {
		t.Fatal(err)
	}
	if c := h.tr.next(t); c.id != held {
		t.Errorf("release attempt = %+v", c)
	}
	if !strings.Contains(h.listing(t), "held@example.org") {
		t.Error("listing lacks released message")
	}
}

func (h *harness) info(t *testing.T, id string) Info {
	t.Helper()
	in, _, err := h.q.Show(id)
	if err != nil {
		t.Fatal(err)
	}
	return in
}

func (h *harness) listing(t *testing.T) string {
	var b strings.Builder
	if err := WriteMailq(&b, h.q.List(), time.UTC); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

func TestHoldSurvivesRestart(t *testing.T) {
	t.Parallel()
	h := newHarness(t, newTransport(deliverAll), nil)
	id := h.enqueue(t, "alice@example.com", "bob@example.org")
	if err := h.q.Hold(id); err != nil {
		t.Fatal(err)
	}
	h.q.Close()
	h.open(t)
	if in := h.info(t, id); !in.Held {
		t.Errorf("after reopen: %+v", in)
	}
	if !strings.Contains(h.listing(t), id+"!") {
		t.Errorf("listing lacks hold mark:\n%s", h.listing(t))
	}
}

func TestRestartResumes(t *testing.T) {
	t.Parallel()
	h := newHarness(t, newTransport(deliverAll), nil)
	id := h.enqueue(t, "alice@example.com", "bob@example.org")
	h.q.Close()
	h.open(t)
	h.run(t)
	if c := h.tr.next(t); c.id != id || c.body != testMessage {
		t.Errorf("after restart: %+v", c)
	}
	eventually(t, "removal", func() bool { return h.q.Len() == 0 })
}

// A crash during an attempt must not cause an immediate retry after the
// restart: the attempt record is on disk and the backoff applies.
func TestRestartAfterAttemptWaitsBackoff(t *testing.T) {
	t.Parallel()
	block := make(chan struct{})
	inDeliver := make(chan struct{})
	tr := newTransport(func(c call) []Result {
		if c.attempt == 1 {
			close(inDeliver) // the attempt record is on disk before the Transport is called
			<-block          // "crash" during the first attempt
		}
		return deliverAll(c)
	})
	h := newHarness(t, tr, nil)
	id := h.enqueue(t, "alice@example.com", "bob@example.org")
	// Simulate the crash: the first queue instance is stuck in Deliver
	// forever; a second instance opens the same directory.
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go h.q.Run(ctx, h.bo)
	<-inDeliver
	q2, err := Open(h.dir, h.opts)
	if err != nil {
		t.Fatal(err)
	}
	in, _, err := q2.Show(id)
	if err != nil {
		t.Fatal(err)
	}
	if in.Attempts != 1 {
		t.Errorf("attempts after restart = %d, want 1", in.Attempts)
	}
	if wait := q2.NextDue().Sub(h.clock.Now()); wait < 4*time.Minute {
		t.Errorf("next attempt in %v after a crash mid-attempt, want the backoff", wait)
	}
	close(block)
}

// The attempt record must be on disk before the Transport is called.
// What a restart would find on disk while Send runs must say that this attempt
// started, so that a message that crashes the process waits out the backoff: the
// first attempt by the message file's mark, the second by a status record.
func TestAttemptRecordedBeforeDeliver(t *testing.T) {
	t.Parallel()
	var h *harness
	var failures atomic.Int32
	tr := newTransport(nil)
	tr.answer = func(c call) []Result {
		if in, ok := recoveredInfo(t, h, c.id); !ok || in.Attempts != c.attempt || !in.NextAttempt.After(h.clock.Now()) {
			t.Logf("attempt %d, a restart would find %+v (found %v)", c.attempt, in, ok)
			failures.Add(1)
		}
		if c.attempt == 1 {
			return answerAll(451, "4.3.0", "later")(c)
		}
		return deliverAll(c)
	}
	h = newHarness(t, tr, nil)
	h.run(t)
	id := h.enqueue(t, "alice@example.com", "bob@example.org")
	h.tr.next(t)
	eventually(t, "deferral", func() bool { return !h.info(t, id).Active })
	h.clock.Advance(time.Hour)
	h.tr.next(t)
	if failures.Load() != 0 {
		t.Errorf("%d attempts were not on disk when Deliver ran", failures.Load())
	}
}

// recoveredInfo is what Open, after a crash at this moment, would know of id.
func recoveredInfo(t *testing.T, h *harness, id string) (Info, bool) {
	t.Helper()
	q, err := Open(h.dir, h.opts)
	if err != nil {
		t.Error(err)
		return Info{}, false
	}
	for _, in := range q.List() {
		if in.ID == id {
			return in, true
		}
	}
	return Info{}, false
}

func TestConcurrencyLimit(t *testing.T) {
	t.Parallel()
	const limit, msgs = 3, 12
	var inFlight, peak atomic.Int32
	release := make(chan struct{})
	var mu sync.Mutex
	tr := newTransport(func(c call) []Result {
		n := inFlight.Add(1)
		mu.Lock()
		if n > peak.Load() {
			peak.Store(n)
		}
		mu.Unlock()
		<-release
		inFlight.Add(-1)
		return deliverAll(c)
	})
	h := newHarness(t, tr, func(o *Options) { o.MaxConcurrency = limit })
	for range msgs {
		h.enqueue(t, "alice@example.com", "bob@example.org")
	}
	h.run(t)
	eventually(t, "slots filled", func() bool { return inFlight.Load() == limit })
	for range msgs {
		release <- struct{}{}
	}
	eventually(t, "all delivered", func() bool { return h.q.Len() == 0 })
	if p := peak.Load(); p != limit {
		t.Errorf("peak concurrency %d, want %d", p, limit)
	}
}

func TestDeleteDuringAttempt(t *testing.T) {
	t.Parallel()
	release := make(chan struct{})
	tr := newTransport(func(c call) []Result {
		<-release
		return answerAll(451, "4.3.0", "later")(c)
	})
	h := newHarness(t, tr, nil)
	id := h.enqueue(t, "alice@example.com", "bob@example.org")
	h.run(t)
	eventually(t, "attempt start", func() bool { return h.info(t, id).Active })
	if err := h.q.Delete(id); err != nil {
		t.Fatal(err)
	}
	close(release)
	eventually(t, "removal", func() bool { return h.q.Len() == 0 })
	if _, err := os.Stat(filepath.Join(h.dir, id)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("file still there: %v", err)
	}
}

// The submitter's uid is kept with the message: after a restart ListSubmittedBy still
// finds it, and an entry without one (from elsewhere, or written before the field
// existed) belongs to nobody.
func TestListSubmittedBy(t *testing.T) {
	t.Parallel()
	h := newHarness(t, newTransport(deliverAll), nil)
	uid := func(n uint32) *uint32 { return &n }
	enq := func(env Envelope) string {
		t.Helper()
		id, err := h.q.Enqueue(context.Background(), env, strings.NewReader(testMessage))
		if err != nil {
			t.Fatal(err)
		}
		return id
	}
	mine := enq(Envelope{From: "nobody@example.com", Rcpts: []string{"a@example.org"}, UID: uid(65534)})
	enq(Envelope{From: "root@example.com", Rcpts: []string{"b@example.org"}, UID: uid(0)})
	enq(Envelope{From: "alice@example.com", Rcpts: []string{"c@example.org"}})
	h.q.Close()
	h.open(t)
	got, more := h.q.ListSubmittedBy(65534, 10)
	if len(got) != 1 || more != 0 || got[0].ID != mine || got[0].UID == nil || *got[0].UID != 65534 {
		t.Fatalf("ListSubmittedBy(65534) = %+v, %d more, want only %s", got, more, mine)
	}
	if got, _ := h.q.ListSubmittedBy(1000, 10); len(got) != 0 {
		t.Errorf("ListSubmittedBy(1000) = %+v, want none", got)
	}
	if got, _ := h.q.ListSubmittedBy(0, 10); len(got) != 1 || got[0].From != "root@example.com" {
		t.Errorf("ListSubmittedBy(0) = %+v, want root's", got)
	}
	// At most max, the oldest (the harness's clock stands still: by id), the rest counted.
	ids := []string{mine, enq(Envelope{From: "nobody@example.com", Rcpts: []string{"d@example.org"}, UID: uid(65534)}),
		enq(Envelope{From: "nobody@example.com", Rcpts: []string{"e@example.org"}, UID: uid(65534)})}
	sort.Strings(ids)
	if got, more := h.q.ListSubmittedBy(65534, 2); len(got) != 2 || more != 1 || got[0].ID != ids[0] || got[1].ID != ids[1] {
		t.Errorf("ListSubmittedBy(65534, 2) = %+v, %d more; want %v, 1 more", got, more, ids[:2])
	}
	if n := len(h.q.List()); n != 5 {
		t.Errorf("List has %d entries, want 5", n)
	}
}

// A message file written before Envelope.UID existed opens, and is nobody's.
func TestOldEntryWithoutUID(t *testing.T) {
	t.Parallel()
	h := newHarness(t, newTransport(deliverAll), nil)
	id := h.enqueue(t, "alice@example.com", "bob@example.org")
	h.q.Close()
	b, err := os.ReadFile(filepath.Join(h.dir, id))
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(b, []byte(`"uid"`)) {
		t.Fatalf("an entry without a submitter stores a uid: %q", b[:120])
	}
	h.open(t)
	if in := h.q.List(); len(in) != 1 || in[0].UID != nil {
		t.Fatalf("List = %+v, want one entry without a uid", in)
	}
}
