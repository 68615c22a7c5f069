package queue

import (
	"container/heap"
	"time"
)

// entry is the in-memory state of one queued message, rebuilt at Open from
// its two files. Guarded by Queue.mu.
type entry struct {
	id               string
	meta             *msgMeta
	textOff, textLen int64
	rcpts            []rcptState

	attempts    int
	lastAttempt time.Time
	next        time.Time // not before this time (zero: at once)
	held        bool
	active      bool // a delivery attempt is running
	deleted     bool // Delete came while active: the attempt's end removes it
	warned      bool // delay warning sent

	seq  uint64 // arrival order, breaks ties in the heap
	hidx int    // index in Queue.due, -1 when not in it
}

type rcptState struct {
	RcptInfo
	notified bool // the sender was told about its failure (or cannot be)
}

func newEntry(id string, meta *msgMeta, textOff, textLen int64) *entry {
	e := &entry{id: id, meta: meta, textOff: textOff, textLen: textLen, hidx: -1}
	e.rcpts = make([]rcptState, len(meta.Rcpts))
	for i, r := range meta.Rcpts {
		e.rcpts[i].Addr = r
		e.rcpts[i].Status = StatusPending
	}
	return e
}

// apply replays one status record.
func (e *entry) apply(r *record) {
	switch r.Kind {
	case recAttempt:
		e.attempts = r.N
		e.lastAttempt = r.At
	case recRcpt:
		if rs := e.rcpt(r.Rcpt); rs != nil {
			rs.Status = r.Status
			rs.Code, rs.Enhanced, rs.LastError, rs.RemoteMTA = r.Code, r.Enhanced, r.Text, r.MTA
		}
	case recNotified:
		for _, a := range r.Rcpts {
			if rs := e.rcpt(a); rs != nil {
				rs.notified = true
			}
		}
	case recWarned:
		e.warned = true
	case recHold:
		e.held = true
	case recRelease:
		e.held = false
	}
}

func (e *entry) rcpt(addr string) *rcptState {
	for i := range e.rcpts {
		if e.rcpts[i].Addr == addr {
			return &e.rcpts[i]
		}
	}
	return nil
}

// pending lists the recipients still to be tried.
func (e *entry) pending() []string {
	var out []string
	for _, r := range e.rcpts {
		if r.Status == StatusPending || r.Status == StatusDeferred {
			out = append(out, r.Addr)
		}
	}
	return out
}

// unnotified lists failed recipients whose sender has not been told yet.
func (e *entry) unnotified() []string {
	var out []string
	for _, r := range e.rcpts {
		if r.Status == StatusFailed && !r.notified {
			out = append(out, r.Addr)
		}
	}
	return out
}

// finished: every recipient delivered, or failed and reported.
func (e *entry) finished() bool {
	for _, r := range e.rcpts {
		switch {
		case r.Status == StatusDelivered:
		case r.Status == StatusFailed && r.notified:
		default:
			return false
		}
	}
	return true
}

func (e *entry) info() Info {
	in := Info{
		ID: e.id, Size: e.textLen, Arrival: e.meta.Arrival, From: e.meta.From,
		Origin: e.meta.Origin, Attempts: e.attempts, LastAttempt: e.lastAttempt,
		Held: e.held, Active: e.active,
	}
	if !e.held && !e.active {
		in.NextAttempt = e.next
	}
	if e.meta.UID != nil {
		uid := *e.meta.UID
		in.UID = &uid
	}
	for _, r := range e.rcpts {
		in.Rcpts = append(in.Rcpts, r.RcptInfo)
	}
	return in
}

// entryHeap orders waiting entries by next attempt time, then arrival.
type entryHeap []*entry

func (h entryHeap) Len() int { return len(h) }
func (h entryHeap) Less(i, j int) bool {
	if !h[i].next.Equal(h[j].next) {
		return h[i].next.Before(h[j].next)
	}
	return h[i].seq < h[j].seq
}
func (h entryHeap) Swap(i, j int) {
	h[i], h[j] = h[j], h[i]
	h[i].hidx, h[j].hidx = i, j
}
func (h *entryHeap) Push(x any) {
	e := x.(*entry)
	e.hidx = len(*h)
	*h = append(*h, e)
}
func (h *entryHeap) Pop() any {
	old := *h
	e := old[len(old)-1]
	old[len(old)-1] = nil
	*h = old[:len(old)-1]
	e.hidx = -1
	return e
}

func (h *entryHeap) push(e *entry) {
	if e.hidx >= 0 {
		heap.Fix(h, e.hidx)
		return
	}
	heap.Push(h, e)
}

func (h *entryHeap) remove(e *entry) {
	if e.hidx >= 0 {
		heap.Remove(h, e.hidx)
	}
}

func (h entryHeap) peek() *entry {
	if len(h) == 0 {
		return nil
	}
	return h[0]
}

// backoff is the wait after the n-th failed attempt: MinBackoff doubled per
// earlier failure, capped at MaxBackoff, times a jitter in [0.8, 1.2).
// Caller holds Queue.mu (for Rand).
func (q *Queue) backoff(n int) time.Duration {
	d := q.opts.MinBackoff
	for i := 1; i < n && d < q.opts.MaxBackoff; i++ {
		d *= 2
	}
	d = min(d, q.opts.MaxBackoff)
	jitter := 0.8 + 0.4*q.opts.Rand.Float64()
	return time.Duration(float64(d) * jitter)
}
