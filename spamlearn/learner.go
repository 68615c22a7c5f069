package spamlearn

import (
	"context"
	"errors"
	"fmt"
	"github.com/postern/postern/event"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Options configure a Learner.
type Options struct {
	// Controller is Rspamd's controller URL, e.g. "http://127.0.0.1:11334".
	Controller string
	// Password is the controller's password ("" when it has none).
	Password string
	// Spool is the directory that holds pending requests; it must be on the
	// file system of the Maildirs for Learn to link rather than copy.
	Spool  string
	Logger *slog.Logger
	// Events receives one SpamLearn event per result (package event); nil: none.
	Events EventSink
	// Client talks to the controller; nil: one with a 60s timeout.
	Client *http.Client
	// MaxMessage is the largest message learned; 0 means 50 MiB.
	MaxMessage int64
	// MaxSpooled bounds the pending requests; 0 means 10000.
	MaxSpooled int
	// MaxBackoff is the longest pause between retries; 0 means 30 seconds.
	MaxBackoff time.Duration
	// Now is the clock; nil: time.Now.
	Now func() time.Time
}

// EventSink receives the learner's events (package event): SpamLearn.
type EventSink interface {
	Emit(event.Event)
}

// Learner spools learn requests and sends them to Rspamd.
type Learner struct {
	o     Options
	log   *slog.Logger
	wake  chan struct{}
	seq   atomic.Uint64
	mu    sync.Mutex
	stats map[Result]uint64
	// latency of the last learn that succeeded: from Learn to Rspamd's answer.
	last    atomic.Int64
	pending atomic.Int64 // files in the spool
}

// Result is one outcome of a learn request, with its kind.
type Result struct {
	Kind   string // "spam" or "ham"
	Result string // "learned", "already", "refused", "dropped", "deferred" (will retry)
}

// New makes the spool directory (0700) and returns the Learner; call Run.
func New(o Options) (*Learner, error) {
	if o.Controller == "" {
		return nil, errors.New("spamlearn: no controller URL")
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.Client == nil {
		o.Client = &http.Client{Timeout: 60 * time.Second}
	}
	if o.MaxMessage <= 0 {
		o.MaxMessage = 50 << 20
	}
	if o.MaxSpooled <= 0 {
		o.MaxSpooled = 10000
	}
	if o.MaxBackoff <= 0 {
		o.MaxBackoff = 30 * time.Second
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	o.Controller = strings.TrimRight(o.Controller, "/")
	if err := os.MkdirAll(o.Spool, 0o700); err != nil {
		return nil, fmt.Errorf("spamlearn: spool: %w", err)
	}
	ents, err := os.ReadDir(o.Spool)
	if err != nil {
		return nil, fmt.Errorf("spamlearn: spool: %w", err)
	}
	l := &Learner{o: o, log: o.Logger, wake: make(chan struct{}, 1), stats: map[Result]uint64{}}
	l.pending.Store(int64(len(ents)))
	if len(ents) > 0 {
		l.wake <- struct{}{}
	}
	return l, nil
}

// Stats returns the count of every result so far.
func (l *Learner) Stats() map[Result]uint64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := make(map[Result]uint64, len(l.stats))
	for k, v := range l.stats {
		out[k] = v
	}
	return out
}

// LastLatency is how long the last successful learn took from Learn to
// Rspamd's answer (0 before the first).
func (l *Learner) LastLatency() time.Duration { return time.Duration(l.last.Load()) }

func (l *Learner) count(kind, result string) {
	l.mu.Lock()
	l.stats[Result{kind, result}]++
	l.mu.Unlock()
}

// Learn records that the messages in the files paths are spam (or ham)
// for user. It returns once the requests are on disk (one directory fsync
// for all of them); Rspamd hears about them later.
func (l *Learner) Learn(_ context.Context, user string, spam bool, paths []string) error {
	kind := kindOf(spam)
	var made []string
	for _, path := range paths {
		fi, err := os.Stat(path)
		if err != nil {
			return fmt.Errorf("spamlearn: %w", err)
		}
		if fi.Size() > l.o.MaxMessage {
			l.report(slog.LevelWarn, kind, "dropped", user, 0, fmt.Sprintf("message of %d bytes is over the %d-byte limit", fi.Size(), l.o.MaxMessage))
			continue
		}
		if n := l.pending.Load(); n >= int64(l.o.MaxSpooled) {
			l.report(slog.LevelWarn, kind, "dropped", user, 0, fmt.Sprintf("the spool is full (%d requests)", n))
			continue
		}
		dst := filepath.Join(l.o.Spool, spoolName(l.o.Now(), l.seq.Add(1), kind, user))
		if err := linkOrCopy(path, dst); err != nil {
			return fmt.Errorf("spamlearn: spooling: %w", err)
		}
		l.pending.Add(1)
		made = append(made, dst)
	}
	if len(made) == 0 {
		return nil
	}
	if err := syncDir(l.o.Spool); err != nil {
		for _, p := range made {
			if os.Remove(p) == nil {
				l.pending.Add(-1)
			}
		}
		return fmt.Errorf("spamlearn: spooling: %w", err)
	}
	select {
	case l.wake <- struct{}{}:
	default:
	}
	return nil
}

func kindOf(spam bool) string {
	if spam {
		return "spam"
	}
	return "ham"
}

// Run sends spooled requests until ctx ends.
func (l *Learner) Run(ctx context.Context) {
	backoff := time.Duration(0)
	for {
		switch {
		case !l.drain(ctx):
			backoff = 0
		case backoff == 0:
			backoff = time.Second
		default:
			backoff = min(2*backoff, l.o.MaxBackoff)
		}
		if backoff == 0 {
			select {
			case <-ctx.Done():
				return
			case <-l.wake:
			}
			continue
		}
		// New requests wait for the pause too: they go to the same Rspamd.
		t := time.NewTimer(backoff)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
	}
}

// drain sends every spooled request, oldest first; it stops at the first
// one Rspamd could not take now and reports that.
func (l *Learner) drain(ctx context.Context) (failed bool) {
	ents, err := os.ReadDir(l.o.Spool)
	if err != nil {
		l.log.Error("spamlearn: reading the spool", "err", err)
		return true
	}
	names := make([]string, 0, len(ents))
	for _, e := range ents {
		if e.Type().IsRegular() && !strings.HasPrefix(e.Name(), ".") {
			names = append(names, e.Name())
		}
	}
	sort.Strings(names)
	for _, n := range names {
		if ctx.Err() != nil {
			return false
		}
		if !l.send(ctx, n) {
			return true
		}
	}
	return false
}

// send delivers one request; false means retry later.
func (l *Learner) send(ctx context.Context, name string) bool {
	p := filepath.Join(l.o.Spool, name)
	req, ok := parseSpoolName(name)
	if !ok {
		l.log.Warn("spamlearn: removing a file the spool did not write", "file", name)
		l.remove(p)
		return true
	}
	f, err := os.Open(p)
	if err != nil {
		l.log.Error("spamlearn: opening a spooled message", "file", name, "err", err)
		l.remove(p)
		return true
	}
	defer f.Close()
	status, body, err := l.post(ctx, req.kind, f)
	switch {
	case err != nil || status >= 500 || status == http.StatusTooManyRequests:
		why := body
		if err != nil {
			why = err.Error()
		}
		l.report(slog.LevelWarn, req.kind, "deferred", req.user, l.o.Now().Sub(req.at), fmt.Sprintf("status %d: %s", status, why))
		return false
	case status == http.StatusOK:
		l.done(p, req, "learned", "")
	case alreadyLearned(status, body):
		l.done(p, req, "already", body)
	default:
		l.done(p, req, "refused", body)
	}
	return true
}

func (l *Learner) done(path string, req spoolReq, result, answer string) {
	l.remove(path)
	lat := l.o.Now().Sub(req.at)
	if result == "learned" {
		l.last.Store(int64(lat))
	}
	level := slog.LevelInfo
	if result == "refused" {
		level = slog.LevelWarn
	}
	l.report(level, req.kind, result, req.user, lat, answer)
}

// report is the one log line (message "spam learn"), count and event of a result;
// the daemon's metrics count the events.
func (l *Learner) report(level slog.Level, kind, result, user string, latency time.Duration, answer string) {
	l.count(kind, result)
	if l.o.Events != nil {
		l.o.Events.Emit(event.SpamLearn{Class: kind, Result: result, User: user, Delay: latency})
	}
	l.log.Log(context.Background(), level, "spam learn", "result", result, "kind", kind, "user", user,
		"delay", fmt.Sprintf("%.3f", latency.Seconds()), "answer", answer)
}

func (l *Learner) remove(path string) {
	err := os.Remove(path)
	if err == nil || errors.Is(err, os.ErrNotExist) {
		l.pending.Add(-1)
		return
	}
	l.log.Error("spamlearn: removing a sent request", "file", path, "err", err)
}

// Pending is the number of requests waiting in the spool.
func (l *Learner) Pending() int64 { return l.pending.Load() }

func (l *Learner) post(ctx context.Context, kind string, body io.Reader) (int, string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, l.o.Controller+"/learn"+kind, body)
	if err != nil {
		return 0, "", err
	}
	if l.o.Password != "" {
		req.Header.Set("Password", l.o.Password)
	}
	resp, err := l.o.Client.Do(req)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	return resp.StatusCode, strings.TrimSpace(string(b)), nil
}

// alreadyLearned recognises Rspamd's answer for a message it has learned
// before (208, or 404 with "already learned" in older versions).
func alreadyLearned(status int, body string) bool {
	return status == http.StatusAlreadyReported || strings.Contains(strings.ToLower(body), "already learned")
}
