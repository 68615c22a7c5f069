package imapsieve

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/mail"
	"os"
	"strings"
	"time"

	"github.com/postern/postern/imap"
	"github.com/postern/postern/server/deliver"
	"github.com/postern/postern/sieve"
	"github.com/postern/postern/smtp"
	"github.com/postern/postern/store"
)

// runEvent runs the event's scripts on its message and carries out the outcome.
func (r *Runner) runEvent(ctx context.Context, mb Mailboxes, out Sender, ev imap.SieveEvent, log *slog.Logger) error {
	scripts, err := r.scriptsFor(ctx, ev)
	if err != nil || len(scripts) == 0 {
		return err
	}
	path, flags, err := mb.SieveMessage(ctx, ev.User, ev.Mailbox, ev.UID)
	if err != nil {
		return fmt.Errorf("the message: %w", err)
	}
	file := fileMessage(path)
	msg, err := sieve.ReadMessage(file.Open, file.Size())
	if err != nil {
		return err
	}
	env := sieve.Envelope{From: returnPath(file), To: ev.User, User: ev.User}
	d, err := r.decide(ctx, scripts, msg, env, r.execOptions(ev, flags), ev, log)
	if err != nil {
		return err
	}
	// Send first: the outcome may remove the file. A copy that could not be sent
	// keeps the message where it is: a script never loses mail.
	if len(d.redirects) > 0 || len(d.notifies) > 0 {
		if err := r.send(ctx, out, ev.User, file, d); err != nil {
			log.Warn("imapsieve: nothing sent; the message stays", "redirects", strings.Join(d.redirects, ","),
				"notifications", len(d.notifies), "err", err)
			d.outcome.Remove = false
		}
	}
	if err := mb.ApplySieve(ctx, ev.User, ev.Mailbox, ev.UID, d.outcome); err != nil {
		return fmt.Errorf("applying %s: %w", strings.Join(d.rules, ", "), err)
	}
	log.Info("imapsieve: ran", "rules", strings.Join(d.rules, ", "), "removed", d.outcome.Remove, "copies", len(d.outcome.FileInto))
	return nil
}

func (r *Runner) execOptions(ev imap.SieveEvent, flags []string) sieve.ExecOptions {
	st := r.o.Store
	return sieve.ExecOptions{
		Location:           time.Local,
		RecipientDelimiter: r.o.Delimiter,
		MailboxExists: func(ctx context.Context, name string) bool {
			_, err := st.GetMailbox(ctx, ev.User, name)
			return err == nil
		},
		SpecialUseExists: func(ctx context.Context, mailbox, attr string) bool {
			if mailbox == "" {
				_, ok := deliver.SpecialUseMailbox(ctx, st, ev.User, attr)
				return ok
			}
			m, err := st.GetMailbox(ctx, ev.User, mailbox)
			return err == nil && strings.EqualFold(m.SpecialUse, attr)
		},
		SpamTest:  r.o.SpamTest,
		VirusTest: r.o.VirusTest,
		Flags:     flags,
		Environment: map[string]string{
			"imap.user": ev.User, "imap.email": ev.User,
			"imap.cause": ev.Cause, "imap.mailbox": ev.Mailbox,
			"imap.changedflags": strings.Join(ev.ChangedFlags, " "),
			"location":          "MS", "phase": "post",
		},
	}
}

// decision is what the scripts of one event decided.
type decision struct {
	outcome   imap.SieveOutcome
	redirects []string
	notifies  []sieve.Notify
	rules     []string // "script:line action", for the log
}

// decide runs the scripts in order, each starting from the flags the one before left,
// and adds up their actions (RFC 6785 section 3.5): the message stays unless every
// script cancelled the implicit keep and none kept it explicitly.
func (r *Runner) decide(ctx context.Context, scripts []*sieve.Script, msg sieve.Message, env sieve.Envelope, opts sieve.ExecOptions, ev imap.SieveEvent, log *slog.Logger) (decision, error) {
	var d decision
	implicit, explicit := true, false
	flags := opts.Flags
	for _, sc := range scripts {
		opts.Flags = flags
		res, err := sc.Execute(ctx, msg, env, opts)
		if err != nil {
			return decision{}, fmt.Errorf("script %s: %w", sc.Name(), err)
		}
		implicit = implicit && res.ImplicitKeep
		if res.ImplicitKeep {
			flags = res.ImplicitKeepFlags
		}
		for i, a := range res.Actions {
			if i < len(res.Origins) {
				d.rules = append(d.rules, res.Origins[i].String()+" "+describe(a))
			}
			switch a := a.(type) {
			case sieve.Keep:
				explicit, flags = true, a.Flags
			case sieve.FileInto:
				name := deliver.ResolveFileInto(ctx, r.o.Store, ev.User, a)
				if sameMailbox(name, ev.Mailbox) {
					explicit, flags = true, a.Flags // fileinto where it is: a keep
					continue
				}
				d.outcome.FileInto = append(d.outcome.FileInto, imap.SieveCopy{Mailbox: name, Flags: a.Flags, Create: a.Create})
			case sieve.Redirect:
				d.redirects = append(d.redirects, a.Address)
			case sieve.Vacation:
				log.Warn("imapsieve: vacation has no meaning on an IMAP event (RFC 6785); ignored", "script", sc.Name())
			case sieve.Notify:
				d.notifies = append(d.notifies, a)
			case sieve.Reject:
				log.Warn("imapsieve: reject has no meaning on a stored message; ignored", "script", sc.Name())
			}
		}
	}
	d.outcome.Remove = !implicit && !explicit
	d.outcome.SetFlags, d.outcome.Flags = true, flags
	return d, nil
}

func sameMailbox(a, b string) bool {
	if strings.EqualFold(a, store.InboxName) {
		return strings.EqualFold(b, store.InboxName)
	}
	return a == b
}

// describe names an action for the log as delivery does, saying which are ignored here.
func describe(a sieve.Action) string {
	switch a.(type) {
	case sieve.Vacation, sieve.Reject:
		return deliver.DescribeAction(a) + " (ignored)"
	}
	return deliver.DescribeAction(a)
}

// fileMessage is a stored message file as smtp.Message.
type fileMessage string

func (f fileMessage) Size() int64 {
	fi, err := os.Stat(string(f))
	if err != nil {
		return 0
	}
	return fi.Size()
}

func (f fileMessage) Open() (io.ReadCloser, error) { return os.Open(string(f)) }

// returnPath is the message's Return-Path, the sender a vacation reply answers; ""
// (no reply) when it has none.
func returnPath(f fileMessage) string {
	rc, err := f.Open()
	if err != nil {
		return ""
	}
	defer rc.Close()
	m, err := mail.ReadMessage(bufio.NewReader(io.LimitReader(rc, 256<<10)))
	if err != nil {
		return ""
	}
	a, err := mail.ParseAddress(m.Header.Get("Return-Path"))
	if err != nil {
		return ""
	}
	return a.Address
}

// send hands the event's redirects and notifications to the Sender once the user's
// outbound rates allow them: one message and one recipient each, as a submission. A held
// message is refused before the rates are counted.
func (r *Runner) send(ctx context.Context, out Sender, user string, msg fileMessage, d decision) error {
	// A message that may not be sent on (the held-mail rule) sends nothing, so it must
	// not use up the user's rate either.
	if why := out.HeldFromSieve(user, msg); why != "" {
		return fmt.Errorf("%w: %s", deliver.ErrHeld, why)
	}
	if r.o.Rates != nil {
		s := &smtp.Session{User: user, Role: smtp.RoleSubmission}
		n := len(d.redirects)
		for _, no := range d.notifies {
			n += len(no.To) + len(no.Cc)
		}
		if err := r.o.Rates.Message(s); err != nil {
			return fmt.Errorf("the user's send rate: %w", err)
		}
		for range n {
			if err := r.o.Rates.Recipient(s); err != nil {
				return fmt.Errorf("the user's send rate: %w", err)
			}
		}
	}
	return out.SendFromSieve(ctx, user, msg, d.redirects, d.notifies)
}
