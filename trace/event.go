package trace

import (
	"bufio"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"
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

// Options configure a Recorder.
type Options struct {
	Dir      string        // where the day files go (state_dir/trace)
	MaxAge   time.Duration // older events are removed
	MaxBytes int64         // the most all day files may hold; the oldest go first
	Buffer   int           // events waiting for the writer; default 8192
	Log      *slog.Logger  // for the writer's own errors (not traced)
	Now      func() time.Time
}

// Recorder appends events to day files from one goroutine.
type Recorder struct {
	o       Options
	ch      chan Event
	dropped atomic.Int64
	done    chan struct{}
	closeMu sync.Mutex
	closed  bool
}

// NewRecorder starts the writer; Close stops it after writing what is queued.
func NewRecorder(o Options) (*Recorder, error) {
	if o.Buffer <= 0 {
		o.Buffer = 8192
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	if err := os.MkdirAll(o.Dir, 0o750); err != nil {
		return nil, fmt.Errorf("trace: %w", err)
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

func dayFile(dir string, t time.Time) string {
	return filepath.Join(dir, t.UTC().Format("2006-01-02")+".jsonl")
}

// write appends events to the day's file, flushing whenever the channel is empty, and
// prunes old files at each new day.
func (r *Recorder) write() {
	defer close(r.done)
	var (
		f    *os.File
		w    *bufio.Writer
		name string
	)
	closeFile := func() {
		if f != nil {
			w.Flush()
			f.Close()
			f = nil
		}
	}
	defer closeFile()
	r.prune()
	for e := range r.ch {
		if n := dayFile(r.o.Dir, e.Time); n != name || f == nil {
			closeFile()
			var err error
			if f, err = os.OpenFile(n, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o640); err != nil {
				r.o.Log.Warn("trace: opening day file", "file", n, "err", err)
				continue
			}
			if name != "" && n != name {
				r.prune()
			}
			name, w = n, bufio.NewWriterSize(f, 64<<10)
		}
		b, _ := json.Marshal(e)
		w.Write(append(b, '\n'))
		if len(r.ch) == 0 {
			if err := w.Flush(); err != nil {
				r.o.Log.Warn("trace: writing", "err", err)
			}
		}
	}
}

// prune removes day files older than MaxAge, then the oldest until the rest fit
// MaxBytes.
func (r *Recorder) prune() {
	files, _ := filepath.Glob(filepath.Join(r.o.Dir, "*.jsonl"))
	sort.Strings(files)
	cutoff := dayFile(r.o.Dir, r.o.Now().Add(-r.o.MaxAge))
	var total int64
	sizes := make([]int64, len(files))
	for i, f := range files {
		if fi, err := os.Stat(f); err == nil {
			sizes[i] = fi.Size()
			total += fi.Size()
		}
	}
	for i, f := range files {
		if r.o.MaxAge > 0 && f < cutoff || r.o.MaxBytes > 0 && total > r.o.MaxBytes && i < len(files)-1 {
			if err := os.Remove(f); err == nil {
				total -= sizes[i]
			}
		}
	}
}

// ReadAll reads every stored event, oldest first (unreadable lines are skipped).
func ReadAll(dir string) ([]Event, error) {
	files, err := filepath.Glob(filepath.Join(dir, "*.jsonl"))
	if err != nil {
		return nil, err
	}
	sort.Strings(files)
	var out []Event
	for _, f := range files {
		fh, err := os.Open(f)
		if err != nil {
			continue
		}
		sc := bufio.NewScanner(fh)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			var e Event
			if json.Unmarshal(sc.Bytes(), &e) == nil && !strings.HasPrefix(e.What, "#") {
				out = append(out, e)
			}
		}
		fh.Close()
	}
	return out, nil
}
