package alerts

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/postern/postern/store/durable"
)

// Repeat is how long an open problem waits before it is mailed again.
const Repeat = 24 * time.Hour

// Problem is one thing wrong, as a source sees it.
type Problem struct {
	Key     string // stable identity across observations, e.g. "relay-auth"
	Summary string // one line, the mail's subject
	Detail  string // what happened and what to do
}

// Mailer delivers one alert to the owner.
type Mailer interface {
	Mail(ctx context.Context, subject, body string) error
}

// Options configure an Alerter.
type Options struct {
	Mailer    Mailer
	StatePath string // the JSON state file
	Now       func() time.Time
	Log       *slog.Logger
}

// Alerter remembers open problems and mails the owner about changes.
type Alerter struct {
	o     Options
	mu    sync.Mutex
	state map[string]*open // by key
}

type open struct {
	Source    string    `json:"source"`
	Summary   string    `json:"summary"`
	FirstSeen time.Time `json:"first_seen"`
	LastMail  time.Time `json:"last_mail"`
}

// New loads the state file (a missing one is an empty state).
func New(o Options) (*Alerter, error) {
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Log == nil {
		o.Log = slog.Default()
	}
	a := &Alerter{o: o, state: map[string]*open{}}
	data, err := os.ReadFile(o.StatePath)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return a, nil
	case err != nil:
		return nil, fmt.Errorf("alerts: %w", err)
	}
	if err := json.Unmarshal(data, &a.state); err != nil {
		a.o.Log.Warn("alerts: state file unreadable; starting afresh", "file", o.StatePath, "err", err)
		a.state = map[string]*open{}
	}
	return a, nil
}

// Observe replaces what source currently reports. New problems, and open ones last
// mailed at least Repeat ago, are mailed; problems of source that are gone get a
// "fixed" note. A mail that fails is tried again at the next Observe.
func (a *Alerter) Observe(ctx context.Context, source string, problems []Problem) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	now := a.o.Now()
	seen := map[string]bool{}
	var errs []error
	for _, p := range problems {
		seen[p.Key] = true
		st := a.state[p.Key]
		if st != nil && now.Sub(st.LastMail) < Repeat {
			continue
		}
		subject := "[postern] " + p.Summary
		if st != nil {
			subject += " (still)"
		}
		if err := a.o.Mailer.Mail(ctx, subject, p.Detail+"\n\nYou get at most one mail a day about this, and one when it is fixed.\n"); err != nil {
			errs = append(errs, fmt.Errorf("alerts: mailing %q: %w", p.Key, err))
			continue
		}
		if st == nil {
			st = &open{Source: source, Summary: p.Summary, FirstSeen: now}
			a.state[p.Key] = st
		}
		st.LastMail = now
		a.o.Log.Warn("alert sent", "problem", p.Key, "summary", p.Summary)
	}
	for _, key := range a.keysOf(source) {
		if seen[key] {
			continue
		}
		st := a.state[key]
		body := fmt.Sprintf("Fixed: %s\n\nFirst seen %s, gone by %s.\n", st.Summary, st.FirstSeen.Format(time.DateTime), now.Format(time.DateTime))
		if err := a.o.Mailer.Mail(ctx, "[postern] fixed: "+st.Summary, body); err != nil {
			errs = append(errs, fmt.Errorf("alerts: mailing the fix of %q: %w", key, err))
			continue
		}
		delete(a.state, key)
		a.o.Log.Info("alert fixed", "problem", key)
	}
	if err := a.save(); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

func (a *Alerter) keysOf(source string) []string {
	var keys []string
	for k, st := range a.state {
		if st.Source == source {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	return keys
}

// Open lists the keys of the open problems, for tests and status.
func (a *Alerter) Open() []string {
	a.mu.Lock()
	defer a.mu.Unlock()
	keys := make([]string, 0, len(a.state))
	for k := range a.state {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func (a *Alerter) save() error {
	data, err := json.MarshalIndent(a.state, "", "  ")
	if err != nil {
		return fmt.Errorf("alerts: %w", err)
	}
	if err := durable.WriteFile(a.o.StatePath, append(data, '\n'), 0o600); err != nil {
		return fmt.Errorf("alerts: saving state: %w", err)
	}
	return nil
}

// Message builds the alert mail: from MAILER-DAEMON@hostname to to.
func Message(hostname, to, subject, body string, now time.Time, id string) []byte {
	var b strings.Builder
	fmt.Fprintf(&b, "From: Postern on %s <MAILER-DAEMON@%s>\r\n", hostname, hostname)
	fmt.Fprintf(&b, "To: <%s>\r\n", to)
	fmt.Fprintf(&b, "Subject: %s\r\n", strings.NewReplacer("\r", " ", "\n", " ").Replace(subject))
	fmt.Fprintf(&b, "Date: %s\r\n", now.Format(time.RFC1123Z))
	fmt.Fprintf(&b, "Message-ID: <alert.%s@%s>\r\n", id, hostname)
	b.WriteString("Auto-Submitted: auto-generated\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n")
	b.WriteString(strings.ReplaceAll(strings.ReplaceAll(body, "\r\n", "\n"), "\n", "\r\n"))
	return []byte(b.String())
}
