package server

import (
	"context"
	"log/slog"
	"path/filepath"
	"time"

	"github.com/postern/postern/server/config"
	"github.com/postern/postern/trace"
)

func traceDir(cfg *config.Config) string { return filepath.Join(cfg.StateDir, "trace") }

// startTrace tees the mail log into the trace recorder when [trace] enabled; the
// returned stop writes what is queued. Without tracing log is returned as it is.
func startTrace(cfg *config.Config, log *slog.Logger) (*slog.Logger, func(), error) {
	if !cfg.Trace.Enabled {
		return log, func() {}, nil
	}
	rec, err := trace.NewRecorder(trace.Options{Dir: traceDir(cfg), MaxAge: cfg.Trace.MaxAgeDuration(),
		MaxBytes: cfg.Trace.MaxSize, Log: log})
	if err != nil {
		return nil, nil, err
	}
	return slog.New(trace.NewHandler(log.Handler(), rec)), rec.Close, nil
}

// traceAdmin answers postern trace. It is embedded in adminBackend.
type traceAdmin struct {
	dir string
	// next tells when a queued message is tried next (zero when it is not queued).
	next func(queueID string) time.Time
}

func (b *traceAdmin) Trace(_ context.Context, q trace.Query) ([]trace.Story, error) {
	events, err := trace.ReadAll(b.dir)
	if err != nil {
		return nil, err
	}
	stories := trace.Find(events, q)
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
	return traceAdmin{dir: traceDir(s.cfg), next: func(id string) time.Time {
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
