package queue

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Queue is the durable outbound queue. All methods are safe for concurrent
// use.
type Queue struct {
	dir    string
	opts   Options
	log    *slog.Logger
	syncer *dirSyncer
	// bouncer is Run's argument, set before its first attempt starts.
	bouncer Bouncer

	mu      sync.Mutex
	entries map[string]*entry
	due     entryHeap // entries waiting for their next attempt (not held, not active)
	active  int       // delivery attempts running
	seq     uint64
	closed  bool
	wake    chan struct{} // capacity 1: "something changed, look again"
	running sync.WaitGroup
}

// Errors of the admin methods.
var (
	ErrNotFound = errors.New("queue: no such message")
	ErrClosed   = errors.New("queue: closed")
)

// Open opens (creating if needed) the queue in dir and recovers its state:
// complete messages are resumed, partial ones removed. Nothing is delivered
// until Run is called.
func Open(dir string, opts Options) (*Queue, error) {
	if err := opts.setDefaults(); err != nil {
		return nil, err
	}
	q := &Queue{
		dir:     dir,
		opts:    opts,
		log:     opts.Logger.With(slog.String("component", "queue")),
		syncer:  &dirSyncer{dir: dir},
		entries: make(map[string]*entry),
		wake:    make(chan struct{}, 1),
	}
	if err := q.recover(); err != nil {
		return nil, err
	}
	return q, nil
}

// Close makes further Enqueue calls fail with ErrClosed and waits for
// running delivery attempts (cancel Run's context first to cut them short).
// The files stay: the next Open resumes them.
func (q *Queue) Close() error {
	q.mu.Lock()
	q.closed = true
	q.mu.Unlock()
	q.running.Wait()
	return nil
}

func (q *Queue) msgPath(id string) string    { return filepath.Join(q.dir, id) }
func (q *Queue) statusPath(id string) string { return filepath.Join(q.dir, id+statusSuffix) }

const statusSuffix = ".status"

// Enqueue stores a message durably and returns its queue id. When it
// returns nil, the message file is fsynced and so is the directory holding
// it: the caller may answer 250. The directory fsync is shared with
// concurrent Enqueue calls (group commit) and runs while this call fsyncs its
// own file. The status file comes later, if ever (mark.go).
func (q *Queue) Enqueue(ctx context.Context, env Envelope, body io.Reader) (string, error) {
	if err := checkEnvelope(env); err != nil {
		return "", err
	}
	if err := ctx.Err(); err != nil {
		return "", err
	}
	q.mu.Lock()
	closed := q.closed
	q.mu.Unlock()
	if closed {
		return "", ErrClosed
	}
	meta := &msgMeta{Envelope: env, Arrival: q.opts.Clock.Now().UTC()}
	meta.Rcpts = append([]string(nil), env.Rcpts...)
	var id string
	for tries := 0; ; tries++ {
		id = q.newID(meta.Arrival)
		f, textLen, headerLen, err := writeMessage(q.msgPath(id), meta, body, q.opts.MaxMessageSize)
		if errors.Is(err, fs.ErrExist) && tries < 8 {
			continue // CreateExcl failed before reading body: safe to retry
		}
		if err != nil {
			return "", err
		}
		batch := q.syncer.request()
		serr := f.Seal()
		derr := batch.wait()
		if err := errors.Join(serr, derr); err != nil {
			f.Abort()
			os.Remove(q.msgPath(id))
			return "", fmt.Errorf("queue: store message: %w", err)
		}
		q.add(newEntry(id, meta, headerLen, textLen))
		break
	}
	q.log.Info("queued", slog.String("id", id), slog.String("from", env.From),
		slog.Int("nrcpt", len(env.Rcpts)), slog.String("origin", env.Origin))
	return id, nil
}

// checkEnvelope refuses envelopes that would corrupt an SMTP command line.
func checkEnvelope(env Envelope) error {
	if len(env.Rcpts) == 0 {
		return errors.New("queue: no recipients")
	}
	bad := func(s string) bool { return strings.ContainsAny(s, "\r\n<>\x00") }
	if bad(env.From) {
		return fmt.Errorf("queue: bad sender %q", env.From)
	}
	for _, r := range env.Rcpts {
		if r == "" || bad(r) {
			return fmt.Errorf("queue: bad recipient %q", r)
		}
	}
	return nil
}

// newID makes a queue id: the arrival time in microseconds and 4 random
// digits, base 36, upper case. Ids sort roughly by arrival; CreateExcl
// catches the rare collision.
func (q *Queue) newID(t time.Time) string {
	q.mu.Lock()
	r := q.opts.Rand.Uint64N(36 * 36 * 36 * 36)
	q.mu.Unlock()
	s := strconv.FormatInt(t.UnixMicro(), 36) + fmt.Sprintf("%04s", strconv.FormatUint(r, 36))
	return strings.ToUpper(strings.ReplaceAll(s, " ", "0"))
}

// validID accepts only names newID could make, so an id from the admin
// socket can never name a path outside the queue.
func validID(id string) bool {
	if len(id) < 8 || len(id) > 32 {
		return false
	}
	for _, c := range id {
		if !('0' <= c && c <= '9' || 'A' <= c && c <= 'Z') {
			return false
		}
	}
	return true
}

// add indexes a new or recovered entry and wakes the scheduler.
func (q *Queue) add(e *entry) {
	q.mu.Lock()
	q.seq++
	e.seq = q.seq
	q.entries[e.id] = e
	if !e.held {
		q.due.push(e)
	}
	q.mu.Unlock()
	q.poke()
}

// poke wakes the scheduler without blocking.
func (q *Queue) poke() {
	select {
	case q.wake <- struct{}{}:
	default:
	}
}
