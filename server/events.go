package server

import "github.com/postern/postern/event"

// eventSink is the one sink every part of the daemon reports to (smtp, imap, managesieve,
// the queue, the delivery agent: each declares its own EventSink interface); it fans each
// event out to its consumers. The metrics are the one consumer today (nil when [listen]
// metrics is off); a per-message trace is meant to be the next.
type eventSink struct {
	metrics *serverMetrics
}

func (s *eventSink) Emit(e event.Event) {
	if s.metrics != nil {
		s.metrics.count(e)
	}
}
