package queue

import (
	"sync"

	"github.com/postern/postern/store/durable"
)

// dirSyncer group-commits fsyncs of one directory. Every caller needs its
// new entry durable before it answers; one fsync of the directory covers
// every entry created before that fsync started, so concurrent callers share
// one. A caller joins the batch that has not started yet; the batch's fsync
// begins only after the previous one ended, so it covers the caller's entry.
type dirSyncer struct {
	dir string

	mu      sync.Mutex
	next    *syncBatch // the batch not yet started; nil if none
	running bool       // a goroutine is working through batches
}

type syncBatch struct {
	done chan struct{}
	err  error
}

// request joins the next batch and returns it without waiting, so the caller
// can fsync its own file while the directory fsync runs.
func (s *dirSyncer) request() *syncBatch {
	s.mu.Lock()
	defer s.mu.Unlock()
	b := s.next
	if b == nil {
		b = &syncBatch{done: make(chan struct{})}
		s.next = b
	}
	if !s.running {
		s.running = true
		go s.loop()
	}
	return b
}

// wait blocks until the batch's fsync is done.
func (b *syncBatch) wait() error {
	<-b.done
	return b.err
}

// sync requests a directory fsync and waits for it.
func (s *dirSyncer) sync() error { return s.request().wait() }

func (s *dirSyncer) loop() {
	for {
		s.mu.Lock()
		b := s.next
		s.next = nil
		if b == nil {
			s.running = false
			s.mu.Unlock()
			return
		}
		s.mu.Unlock()
		b.err = durable.SyncDir(s.dir)
		close(b.done)
	}
}
