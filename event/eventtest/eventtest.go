package eventtest

import (
	"slices"
	"sync"

	"github.com/postern/postern/event"
)

// Recorder is an EventSink (any package's) that keeps the events in order.
type Recorder struct {
	mu  sync.Mutex
	got []event.Event
}

// Emit keeps e.
func (r *Recorder) Emit(e event.Event) {
	r.mu.Lock()
	r.got = append(r.got, e)
	r.mu.Unlock()
}

// All is a copy of the events kept so far.
func (r *Recorder) All() []event.Event {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.got)
}
