package server

import (
	"context"
	"log/slog"
	"path/filepath"
	"time"

	"github.com/postern/postern/server/config"
	"github.com/postern/postern/store"
	"github.com/postern/postern/trace"
)

func traceDir(cfg *config.Config) string { return filepath.Join(cfg.StateDir, "trace") }

// startTrace tees the mail log into the trace recorder when [trace] enabled, which
// writes the events into st (day files of an older version are imported first); the
// returned recorder's Close writes what is queued and must run before st closes.
// Without tracing log is returned as it is, with a nil recorder.
func startTrace(cfg *config.Config, log *slog.Logger, st *store.Store) (*slog.Logger, *trace.Recorder, error) {
	if !cfg.Trace.Enabled {
		return log, nil, nil
	}
	rec, err := trace.NewRecorder(trace.Options{Store: st, MaxAge: cfg.Trace.MaxAgeDuration(),
		MaxBytes: cfg.Trace.MaxSize, ImportDir: traceDir(cfg), Log: log})
	if err != nil {
		return nil, nil, err
	}
	return slog.New(trace.NewHandler(log.Handler(), rec)), rec, nil
}

// traceAdmin answers postern trace. It is embedded in adminBackend.
type traceAdmin struct {
	events trace.Reader
	// next tells when a queued message is tried next (zero when it is not queued).
	next func(queueID string) time.Time
}

func (b *traceAdmin) Trace(ctx context.Context, q trace.Query) ([]trace.Story, error) {
	stories, err := trace.Lookup(ctx, b.events, q)
	if err != nil {
		return nil, err
	}
	for i := range stories {
		stories[i] = b.withNextAttempt(stories[i])
	}
	return stories, nil
}

// withNextAttempt adds, for a message still in the queue, when it is tried next.
func (b *traceAdmin) withNextAttempt(s trace.Story) trace.Story {
	if b.next == nil {
		return s
	}
	seen := map[string]bool{}
	for _, e := range s.Events {
		q := e.Attrs["queue_id"]
		if q == "" || seen[q] {
			continue
		}
		seen[q] = true
		if t := b.next(q); !t.IsZero() {
			s.Events = append(s.Events, trace.Event{Time: time.Now(), What: "waiting",
				Attrs: map[string]string{"queue_id": q, "next_attempt": t.UTC().Format(time.RFC3339)}})
		}
	}
	return s
}

// traceAdmin is the admin backend's trace part: the trace store and the queue's schedule.
func (s *Server) traceAdmin() traceAdmin {
	return traceAdmin{events: s.store, next: func(id string) time.Time {
		if s.out == nil {
			return time.Time{}
		}
		for _, in := range s.out.Queue().List() {
			if in.ID == id {
				return in.NextAttempt
			}
		}
		return time.Time{}
	}}
}
