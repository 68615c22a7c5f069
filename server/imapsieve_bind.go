package server

import (
	"github.com/postern/postern/imap"
	"github.com/postern/postern/imapsieve"
	"github.com/postern/postern/server/config"
)

// newIMAPSieve builds the runner of [[sieve.imapsieve]] (nil without rules). It is
// built before the IMAP server, which reports events to it, and runs (startBackground)
// with the IMAP server and the delivery agent passed to Run.
func newIMAPSieve(cfg *config.Config, s *Server) (*imapsieve.Runner, error) {
	if len(cfg.Sieve.IMAPSieve) == 0 {
		return nil, nil
	}
	spam, err := cfg.Sieve.SpamSources()
	if err != nil {
		return nil, err
	}
	virus, err := cfg.Sieve.VirusSources()
	if err != nil {
		return nil, err
	}
	return imapsieve.New(imapsieve.Options{
		Rules: cfg.Sieve.IMAPSieve, Store: s.store, GlobalDir: cfg.Sieve.GlobalDir,
		Delimiter: cfg.SMTP.RecipientDelimiter, SpamTest: spam, VirusTest: virus,
		Logger: s.log.With("service", "imapsieve"), Rates: s.rates, Events: s.events,
	})
}

// sieveEvents is the runner as the IMAP server takes it: a nil interface when off.
func (s *Server) sieveEvents() imap.SieveEvents {
	if s.imapSieve == nil {
		return nil
	}
	return s.imapSieve
}
