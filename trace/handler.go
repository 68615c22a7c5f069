package trace

import (
	"context"
	"log/slog"
	"slices"
)

// linkKeys are the attributes that tie a log record to a message.
var linkKeys = []string{"sid", "id", "queue_id"}

// Handler passes every record to next and a copy of the mail-log records to sink.
type Handler struct {
	next  slog.Handler
	sink  Sink
	attrs []slog.Attr // from WithAttrs, outermost first
}

// NewHandler wraps next.
func NewHandler(next slog.Handler, sink Sink) *Handler { return &Handler{next: next, sink: sink} }

// Enabled is true from Info up even when the log is quieter, so the trace is complete.
func (h *Handler) Enabled(ctx context.Context, l slog.Level) bool {
	return l >= slog.LevelInfo || h.next.Enabled(ctx, l)
}

// Handle logs r (if the log wants it) and records it (if it names a message).
func (h *Handler) Handle(ctx context.Context, r slog.Record) error {
	var err error
	if h.next.Enabled(ctx, r.Level) {
		err = h.next.Handle(ctx, r)
	}
	if r.Level >= slog.LevelInfo {
		if e, ok := h.event(r); ok {
			h.sink.Record(e)
		}
	}
	return err
}

// event turns r into an Event if it carries a link key.
func (h *Handler) event(r slog.Record) (Event, bool) {
	attrs := make(map[string]string, len(h.attrs)+r.NumAttrs())
	for _, a := range h.attrs {
		attrs[a.Key] = a.Value.String()
	}
	r.Attrs(func(a slog.Attr) bool {
		attrs[a.Key] = a.Value.String()
		return true
	})
	for _, k := range linkKeys {
		if attrs[k] != "" {
			return Event{Time: r.Time, What: r.Message, Attrs: attrs}, true
		}
	}
	return Event{}, false
}

// WithAttrs keeps the attributes for the records of the derived logger.
func (h *Handler) WithAttrs(as []slog.Attr) slog.Handler {
	return &Handler{next: h.next.WithAttrs(as), sink: h.sink, attrs: append(slices.Clip(h.attrs), as...)}
}

// WithGroup groups in the log; the trace keeps the keys flat.
func (h *Handler) WithGroup(name string) slog.Handler {
	return &Handler{next: h.next.WithGroup(name), sink: h.sink, attrs: h.attrs}
}
