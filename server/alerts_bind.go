package server

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"time"

	"github.com/postern/postern/alerts"
	"github.com/postern/postern/doctor"
	"github.com/postern/postern/server/certs"
	"github.com/postern/postern/server/config"
	"github.com/postern/postern/smtp"
	"github.com/postern/postern/smtp/queue"
)

// alertInterval is how often the cheap alert sources (queue, certificate, disk) are
// looked at; the full doctor run is daily. POSTERN_TEST_ALERT_INTERVAL (a duration)
// shortens it for the tests; it is not a setting.
const (
	alertInterval = time.Minute
	doctorEvery   = 24 * time.Hour
)

// alertMailer delivers alerts through local delivery, from the null sender (so that an
// alert never bounces).
type alertMailer struct {
	deliverer smtp.Deliverer
	hostname  string
	to        func(ctx context.Context) (string, error)
	now       func() time.Time
}

func (m *alertMailer) Mail(ctx context.Context, subject, body string) error {
	to, err := m.to(ctx)
	if err != nil {
		return err
	}
	var id [8]byte
	_, _ = rand.Read(id[:])
	sid := "alert-" + hex.EncodeToString(id[:])
	env := &smtp.Envelope{ID: sid, From: "", Recipients: []string{to}, Received: m.now(),
		Session: &smtp.Session{ID: sid, Role: smtp.RoleMX, Trusted: true, HELO: "localhost", Hostname: m.hostname, Start: m.now()}}
	msg := alerts.Message(m.hostname, to, subject, body, m.now(), hex.EncodeToString(id[:]))
	return errors.Join(m.deliverer.Deliver(ctx, env, smtp.BytesMessage(msg))...)
}

// alertRecipient is the owner (ownerAddress).
func (s *Server) alertRecipient(ctx context.Context) (string, error) {
	var first string
	if ds := s.localDomains(ctx); len(ds) > 0 {
		first = ds[0]
	}
	if to := ownerAddress(s.currentConfig().Alerts, first); to != "" {
		return to, nil
	}
	return "", errors.New("no local domain for postmaster@ yet; set [alerts] to")
}

// ownerAddress is the machine's owner, who gets the alerts and what local services send
// to root: [alerts] to, else ("" or "off") postmaster@ the first local domain by name;
// "" when there is neither.
func ownerAddress(a config.Alerts, firstDomain string) string {
	switch {
	case a.To != "" && !a.Off():
		return a.To
	case firstDomain != "":
		return "postmaster@" + firstDomain
	}
	return ""
}

// runAlerts looks at the alert sources every interval, and runs the doctor daily, until
// ctx ends.
func (s *Server) runAlerts(ctx context.Context) {
	if s.currentConfig().Alerts.Off() {
		return
	}
	cfg := s.currentConfig()
	a, err := alerts.New(alerts.Options{
		Mailer:    &alertMailer{deliverer: s.agent, hostname: cfg.Hostname, to: s.alertRecipient, now: time.Now},
		StatePath: filepath.Join(cfg.StateDir, "alerts.json"), Log: s.log,
	})
	if err != nil {
		s.log.Error("alerts: not running", "err", err)
		return
	}
	every := alertInterval
	if d, err := time.ParseDuration(s.opts.Getenv("POSTERN_TEST_ALERT_INTERVAL")); err == nil && d > 0 {
		every = d
	}
	t := time.NewTicker(every)
	defer t.Stop()
	nextDoctor := time.Now().Add(time.Hour) // not at once: a fresh install is still being set up
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		s.observeAlerts(ctx, a)
		if time.Now().After(nextDoctor) {
			nextDoctor = time.Now().Add(doctorEvery)
			s.observe(ctx, a, "doctor", doctorProblems(s.runDoctor(ctx)))
		}
	}
}

func (s *Server) observe(ctx context.Context, a *alerts.Alerter, source string, ps []alerts.Problem) {
	if err := a.Observe(ctx, source, ps); err != nil {
		s.log.Warn("alerts", "source", source, "err", err)
	}
}

// observeAlerts reports the cheap sources: the queue (credentials refused, mail
// delayed), the certificate and the disk.
func (s *Server) observeAlerts(ctx context.Context, a *alerts.Alerter) {
	cfg := s.currentConfig()
	if s.out != nil {
		items := s.out.Queue().List()
		s.observe(ctx, a, "relay", relayAuthProblems(items))
		_, _, _, delay := cfg.Queue.Durations()
		s.observe(ctx, a, "queue", findingProblems("queue", doctor.QueueCheck(func() []queue.Info { return items }, delay, time.Now)))
	}
	s.observe(ctx, a, "certificate", findingProblems("certificate",
		doctor.CertCheck(cfg.Hostname, s.servedCert(cfg.Hostname), false, time.Now)))
	s.observe(ctx, a, "disk", findingProblems("disk", doctor.DiskCheck(cfg.StateDir, 10, statfs)))
	s.observe(ctx, a, "renewal", renewalProblems(s.certs.Failures()))
}

// renewalProblems turns the certificates whose renewal (ACME) or reload (a certbot
// renewal that wrote a file we cannot load) failed into alerts, one per certificate.
func renewalProblems(fs []certs.Failure) []alerts.Problem {
	out := make([]alerts.Problem, 0, len(fs))
	for _, f := range fs {
		left := "for an unknown time"
		if f.Remaining > 0 {
			left = fmt.Sprintf("for %d more days", int(f.Remaining.Hours()/24))
		} else if f.Remaining < 0 {
			left = "no longer: it has expired"
		}
		out = append(out, alerts.Problem{Key: "renewal:" + f.Name, Summary: "the certificate " + f.Name + " could not be renewed",
			Detail: fmt.Sprintf("Renewing or reloading the certificate %s failed at %s:\n\n  %s\n\n"+
				"The current certificate keeps serving, %s. With [tls.acme], check that the challenge listener is reachable "+
				"from the internet (or the DNS provider's credentials, for dns-01); with [tls] cert and key, check the files "+
				"your renewal tool wrote (postern doctor, and the log's \"tls certificate reload failed\" line).",
				f.Name, f.At.Format(time.DateTime), f.Err, left)})
	}
	return out
}

// relayAuthProblems finds queued mail the relay refused at AUTH with a permanent code:
// the password is wrong or no longer accepted (Fastmail app passwords, a plan change).
func relayAuthProblems(items []queue.Info) []alerts.Problem {
	for _, in := range items {
		for _, r := range in.Rcpts {
			// 534/535 and 5.7.8/5.7.9 (RFC 4954 section 6) are only said to AUTH.
			if r.Code == 534 || r.Code == 535 || r.Enhanced == "5.7.8" || r.Enhanced == "5.7.9" {
				return []alerts.Problem{{Key: "relay-auth", Summary: "the smart host refuses our password",
					Detail: fmt.Sprintf("Mail to %s (queue id %s) waits because the smart host refused our credentials:\n\n  %s\n\n"+
						"Run postern doctor (or postern relay test) for the explanation; many providers want an app password or SMTP-only credentials. "+
						"Once the password file is fixed, postern queue flush sends what waits.", r.Addr, in.ID, replyText(r))}}
			}
		}
	}
	return nil
}

// findingProblems runs one doctor check and turns its warnings and problems into alerts.
func findingProblems(key string, c doctor.Check) []alerts.Problem {
	return doctorProblems(doctor.Run(context.Background(), []doctor.Check{c}, doctorCheckLimit), key)
}

// doctorProblems turns a doctor report's trouble into alerts, keyed by the finding (or
// by key, when given, so that a changing number in the text is the same problem).
// Checks that have a source of their own are left to it.
func doctorProblems(r doctor.Report, key ...string) []alerts.Problem {
	var out []alerts.Problem
	for _, f := range r.Trouble() {
		k := f.Key()
		if len(key) > 0 {
			k = key[0]
		} else if f.Check == "relay" || f.Check == "queue" || f.Check == "certificate" || f.Check == "disk" {
			continue
		}
		out = append(out, alerts.Problem{Key: k, Summary: f.Message, Detail: f.Message + "\n\nWhat to do: " + f.Fix + "\n"})
	}
	return out
}

func replyText(r queue.RcptInfo) string {
	return strings.TrimSpace(fmt.Sprintf("%d %s %s", r.Code, r.Enhanced, r.LastError))
}
