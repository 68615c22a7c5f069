package server

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/postern/postern/localsubmit"
)

// bindLocalSubmit binds the local submission socket (mode 0666: any local user may send;
// the uid is recorded) and registers it, with the pickup scanner, as the "sendmail"
// service. It runs before the admin socket is bound, so that `postern status` shows it.
func (s *Server) bindLocalSubmit() error {
	cfg := s.cfg
	spool := filepath.Join(cfg.StateDir, "spool")
	if err := os.MkdirAll(spool, 0o700); err != nil {
		return err
	}
	_, _, lifetime, _ := cfg.Queue.Durations()
	var q localsubmit.Queue // an interface holding a nil *queue.Queue would not be nil
	if s.out != nil {
		q = s.out.Queue()
	}
	ls, err := localsubmit.New(localsubmit.Options{
		Deliverer:       s.agent,
		Names:           &localNames{agent: s.agent, store: s.store, config: s.currentConfig},
		MachineNames:    machineNames(context.Background()),
		Queue:           q,
		Verifier:        verifier{agent: s.agent, cfg: cfg},
		Hostname:        cfg.Hostname,
		LocalSender:     cfg.SMTP.LocalSender,
		MaxSize:         cfg.SMTP.MessageSizeLimit,
		MaxRcpts:        cfg.SMTP.MaxRecipients,
		Lifetime:        lifetime,
		PickupDir:       cfg.PickupDir(),
		MaildropDir:     cfg.MaildropDir(),
		PerUIDPerMinute: cfg.Admin.SubmitPerMinute,
		SpoolDir:        spool,
		Logger:          s.log.With("service", "sendmail"),
	})
	if err != nil {
		return err
	}
	ln, err := listen("unix:"+cfg.SubmitSocket(), 0o666)
	if err != nil {
		return fmt.Errorf("listen sendmail on %s: %w", cfg.SubmitSocket(), err)
	}
	s.svcs.Add("sendmail", ln, ls.Serve, ls.Shutdown)
	return nil
}
