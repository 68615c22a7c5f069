package server

import (
	"context"
	"sync"
	"time"
)

// startBackground runs the daemon's periodic housekeeping (autoexpunge of Junk and
// Trash; the owner's alerts) until ctx ends; the WaitGroup tells when all of it stopped.
func (s *Server) startBackground(ctx context.Context) *sync.WaitGroup {
	var wg sync.WaitGroup
	ae := &autoexpunger{st: s.store, boxes: s.imap, cfg: s.currentConfig, log: s.log, now: time.Now}
	wg.Go(func() { ae.run(ctx) })
	wg.Go(func() { s.runAlerts(ctx) })
	if s.learner != nil {
		wg.Go(func() { s.learner.Run(ctx) })
	}
	if s.imapSieve != nil {
		wg.Go(func() { s.imapSieve.Run(ctx, s.imap, s.agent) })
	}
	return &wg
}
