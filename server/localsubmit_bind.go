package server

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/postern/postern/localsubmit"
	"github.com/postern/postern/server/config"
	"github.com/postern/postern/server/outbound"
	"github.com/postern/postern/smtp/relay"
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
	ls, err := localsubmit.New(localsubmit.Options{
		Deliverer:       s.agent,
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

// setupQueueAdmin gives the admin backend the queue and the relay test.
func (s *Server) setupQueueAdmin(b *adminBackend) {
	if s.out != nil {
		b.q = s.out.Queue()
	}
	b.relayOptions = s.relayOptions
}

// relayOptions builds the relay client options of [relay] ("") or [relays.NAME] from the
// config in force, reading the password afresh.
func (s *Server) relayOptions(name string) (relay.Options, error) {
	cfg := s.currentConfig()
	if name == "" {
		name = config.ViaRelay
	}
	return outbound.RelayOptions(cfg, name, s.opts.Getenv, s.log, newResolver(cfg.DNS.Addrs()))
}
