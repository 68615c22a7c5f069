package trace

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/postern/postern/store"
)

// Event is one thing that happened to a message.
type Event struct {
	Time  time.Time         `json:"t"`
	What  string            `json:"what"`  // the mail-log event: connect, helo, message, delivered, queued, delivery...
	Attrs map[string]string `json:"attrs"` // its fields (sid, id, queue_id, from, to, code, reason...)
}

// Sink takes events; Record must not block.
type Sink interface {
	Record(Event)
}

// Store keeps the events (package store's trace tables).
type Store interface {
	AppendTrace(ctx context.Context, c store.TraceChunk) error
	PruneTrace(ctx context.Context, before time.Time, excess int64) (int64, error)
	TraceSize(ctx context.Context) (int64, error)
	DeleteTraceWith(ctx context.Context, key string) error
}

// Options configure a Recorder.
type Options struct {
	Store      Store
	MaxAge     time.Duration // older events are removed
	MaxBytes   int64         // the most the stored chunks may add up to; the oldest go first
	Buffer     int           // events waiting for the writer; default 8192
	Batch      int           // the most events in one chunk; default 256
	Linger     time.Duration // how long a chunk waits for more events; default 250ms
	PruneEvery time.Duration // default 10 minutes, and at start
	ImportDir  string        // day files of an older version (state_dir/trace), imported and removed at start
	Log        *slog.Logger  // for the writer's own errors (not traced)
	Now        func() time.Time
}

func (o Options) withDefaults() Options {
	if o.Buffer <= 0 {
		o.Buffer = 8192
	}
	if o.Batch <= 0 {
		o.Batch = 256
	}
	if o.Linger <= 0 {
		o.Linger = 250 * time.Millisecond
	}
	if o.PruneEvery <= 0 {
		o.PruneEvery = 10 * time.Minute
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	return o
}

// Recorder writes events to the store in batches from one goroutine.
type Recorder struct {
	o       Options
	ch      chan Event
	dropped atomic.Int64
	stored  atomic.Int64 // what the stored chunks add up to, as the writer last knew it
	done    chan struct{}
	closeMu sync.Mutex
	closed  bool
}

// NewRecorder starts the writer; Close stops it after writing what is queued.
func NewRecorder(o Options) (*Recorder, error) {
	o = o.withDefaults()
	if o.Store == nil {
		return nil, fmt.Errorf("trace: no store")
	}
	r := &Recorder{o: o, ch: make(chan Event, o.Buffer), done: make(chan struct{})}
	go r.write()
	return r, nil
}

// Record queues e, or drops it when the writer is behind.
func (r *Recorder) Record(e Event) {
	select {
	case r.ch <- e:
	default:
		r.dropped.Add(1)
	}
}

// Dropped is how many events were dropped because the writer was behind.
func (r *Recorder) Dropped() int64 { return r.dropped.Load() }

// StoredBytes is what the kept events add up to, counted as against MaxBytes.
func (r *Recorder) StoredBytes() int64 { return r.stored.Load() }

// Close writes what is queued and stops the writer.
func (r *Recorder) Close() {
	r.closeMu.Lock()
	if !r.closed {
		r.closed = true
		close(r.ch)
	}
	r.closeMu.Unlock()
	<-r.done
}

// write gathers the queued events into chunks (up to Batch events, or what has come
// within Linger of a chunk's first event) and appends each in one transaction; it
// keeps the total size and prunes at start, every PruneEvery, and whenever the total
// passes MaxBytes.
func (r *Recorder) write() {
	defer close(r.done)
	ctx := context.Background()
	r.importDayFiles(ctx)
	total, err := r.o.Store.TraceSize(ctx)
	if err != nil {
		r.o.Log.Warn("trace: reading its size", "err", err)
	}
	total = r.prune(ctx, total)
	r.stored.Store(total)
	tick := time.NewTicker(r.o.PruneEvery)
	defer tick.Stop()
	batch := make([]Event, 0, r.o.Batch)
	var drops dropReport
	defer func() { drops.report(r.o.Log, r.dropped.Load(), time.Time{}) }() // and once more at the end
	for open := true; open; {
		select {
		case <-tick.C:
			total = r.prune(ctx, total)
			r.stored.Store(total)
			continue
		case e, ok := <-r.ch:
			if !ok {
				return
			}
			batch = append(batch[:0], e)
		}
		batch, open = r.gather(batch)
		total += r.append(ctx, batch)
		if r.o.MaxBytes > 0 && total > r.o.MaxBytes {
			total = r.prune(ctx, total)
		}
		r.stored.Store(total)
		drops.report(r.o.Log, r.dropped.Load(), r.o.Now())
	}
}

// dropReport says in the log, at most once a minute, that events were dropped, and how
// many since the last time it said so (the total is in the metrics). A zero now says
// it whatever the time (the writer's end).
type dropReport struct {
	told int64
	at   time.Time
}

func (d *dropReport) report(log *slog.Logger, dropped int64, now time.Time) {
	if dropped == d.told || !now.IsZero() && now.Sub(d.at) < time.Minute {
		return
	}
	log.Warn("trace: events dropped: the writer was behind, the trace of these sessions is incomplete",
		"dropped", dropped-d.told, "dropped_total", dropped)
	d.told, d.at = dropped, now
}

// gather adds to batch what arrives within Linger, up to Batch events; open is false
// when the channel was closed.
func (r *Recorder) gather(batch []Event) (_ []Event, open bool) {
	linger := time.NewTimer(r.o.Linger)
	defer linger.Stop()
	for len(batch) < r.o.Batch {
		select {
		case e, ok := <-r.ch:
			if !ok {
				return batch, false
			}
			batch = append(batch, e)
		case <-linger.C:
			return batch, true
		}
	}
	return batch, true
}

// append writes one chunk and returns the size it added.
func (r *Recorder) append(ctx context.Context, batch []Event) int64 {
	c := chunk(batch)
	if err := r.o.Store.AppendTrace(ctx, c); err != nil {
		r.o.Log.Warn("trace: writing", "events", len(batch), "err", err)
		return 0
	}
	return c.Size
}

// prune removes events older than MaxAge and, when the rest add up to more than
// MaxBytes, the oldest down to 90% of it (so that pruning is not done at every batch);
// it returns the new total.
func (r *Recorder) prune(ctx context.Context, total int64) int64 {
	var before time.Time
	if r.o.MaxAge > 0 {
		before = r.o.Now().Add(-r.o.MaxAge)
	}
	var excess int64
	if r.o.MaxBytes > 0 && total > r.o.MaxBytes {
		excess = total - r.o.MaxBytes*9/10
	}
	freed, err := r.o.Store.PruneTrace(ctx, before, excess)
	if err != nil {
		r.o.Log.Warn("trace: pruning", "err", err)
		return total
	}
	return max(total-freed, 0)
}

// addressKeys are the attributes whose addresses Query.Address finds.
var addressKeys = []string{"from", "to", "user", "mailbox"}

// keys are what the store indexes e's chunk by: its links (session, transaction, queue
// entry), its Message-ID and the addresses it names (a mailbox "user/folder" names its
// user), lower-cased.
func keys(e Event) []string {
	out := links(e)
	if id := normMessageID(e.Attrs["message_id"]); id != "" {
		out = append(out, "i:"+id)
	}
	for _, k := range addressKeys {
		for _, v := range strings.Split(strings.ToLower(e.Attrs[k]), ",") {
			if user, _, _ := strings.Cut(v, "/"); user != "" {
				out = append(out, "a:"+user)
			}
		}
	}
	return out
}

// normMessageID is a Message-ID as indexed: lower-cased, without <>.
func normMessageID(id string) string { return strings.ToLower(strings.Trim(id, "<> ")) }

// chunk is a batch as the store keeps it: the events as JSON lines, the keys they carry
// (each once), and its size, what counts against MaxBytes.
// extra keys (an imported file's name) are added as they are.
func chunk(batch []Event, extra ...string) store.TraceChunk {
	var b bytes.Buffer
	var line []byte
	seen := map[string]bool{}
	c := store.TraceChunk{FirstAt: batch[0].Time, LastAt: batch[0].Time, Keys: slices.Clone(extra)}
	for _, e := range batch {
		line = append(appendEvent(line[:0], e), '\n')
		b.Write(line)
		if e.Time.Before(c.FirstAt) {
			c.FirstAt = e.Time
		}
		if e.Time.After(c.LastAt) {
			c.LastAt = e.Time
		}
		for _, k := range keys(e) {
			if !seen[k] {
				seen[k] = true
				c.Keys = append(c.Keys, k)
				c.Size += int64(len(k)) + 16
			}
		}
	}
	c.Events = b.Bytes()
	c.Size += int64(len(c.Events))
	return c
}

// parseChunk reads a chunk's events back (a line that does not parse is skipped).
func parseChunk(b []byte) []Event {
	var out []Event
	for _, line := range bytes.Split(b, []byte("\n")) {
		var e Event
		if len(line) > 0 && json.Unmarshal(line, &e) == nil && e.What != "" {
			out = append(out, e)
		}
	}
	return out
}
