package server

import (
	"log/slog"
	"path/filepath"

	"github.com/postern/postern/imap"
	"github.com/postern/postern/server/config"
	"github.com/postern/postern/spamlearn"
)

// newSpamLearner builds the learner of [spam_learning] (nil when the
// controller is ""). Its spool lives in state_dir, beside the Maildirs, so
// a learn request is a hard link, not a copy. Read at start only.
func newSpamLearner(cfg *config.Config, log *slog.Logger, events spamlearn.EventSink) (*spamlearn.Learner, error) {
	sl := cfg.SpamLearning
	if sl.Controller == "" {
		return nil, nil
	}
	pw := ""
	if sl.PasswordFile != "" {
		var err error
		if pw, err = spamlearn.ReadPasswordFile(sl.PasswordFile); err != nil {
			return nil, err
		}
	}
	return spamlearn.New(spamlearn.Options{
		Controller: sl.Controller, Password: pw,
		Spool:  filepath.Join(cfg.StateDir, "spamlearn"),
		Logger: log.With("service", "spamlearn"),
		Events: events,
	})
}

// spamLearner is the learner as the IMAP server takes it: a nil interface,
// not a nil pointer, when learning is off.
func (s *Server) spamLearner() imap.SpamLearner {
	if s.learner == nil {
		return nil
	}
	return s.learner
}
