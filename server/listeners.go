package server

import (
	"context"
	"os"

	"github.com/postern/postern/admin"
)

// bindListeners binds every configured listener, the admin socket last: a client that can
// reach the admin socket can rely on everything else being bound.
func (s *Server) bindListeners(ctx context.Context) error {
	cfg := s.cfg
	ln, serve, stop, err := bindAdmin(cfg, s.store, s.log, s.status)
	if err != nil {
		s.svcs.CloseListeners()
		return err
	}
	s.svcs.Add("admin", ln, serve, stop)
	return nil
}

// status is what `postern status` reports.
func (s *Server) status() admin.Status {
	s.mu.Lock()
	cfg := s.cfg
	s.mu.Unlock()
	return admin.Status{
		Version:   s.opts.Version,
		PID:       os.Getpid(),
		StartedAt: s.started,
		Config:    cfg.File,
		StateDir:  cfg.StateDir,
		Listeners: s.svcs.Addrs(),
	}
}
