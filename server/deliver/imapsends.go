package deliver

import (
	"context"
	"errors"
	"fmt"

	"github.com/postern/postern/sieve"
	"github.com/postern/postern/smtp"
	"github.com/postern/postern/store"
)

// ErrHeld is SendFromSieve's refusal of a message that may not be sent on (onward.go).
var ErrHeld = errors.New("not sent on")

// SendFromSieve sends what a Sieve script run on an IMAP event decided to send (package
// imapsieve): redirected copies and enotify notifications, through the same paths, loop
// checks, logs and held-message rules as at delivery (a message scored as spam is not
// sent on: ErrHeld). The envelope sender of a redirected copy is the user, who acted on
// the message. Vacation has no meaning on an IMAP event (RFC 6785) and is not offered.
func (a *Agent) SendFromSieve(ctx context.Context, user string, msg smtp.Message, redirects []string, notifies []sieve.Notify) error {
	env := a.sieveEnvelope(user)
	if why := (&onwardCheck{env: env, parsed: &parsedMessage{msg: msg}}).held(); why != "" {
		return fmt.Errorf("%w: %s", ErrHeld, why)
	}
	var errs []error
	if len(redirects) > 0 {
		if err := a.redirect(ctx, env, user, redirects, msg); err != nil {
			errs = append(errs, err)
		}
	}
	for _, n := range notifies {
		if err := a.sendNotify(ctx, user, n, env, msg); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// HeldFromSieve says why a stored message may not be sent on by a script run on an IMAP
// event (SendFromSieve would refuse it with ErrHeld); "" when it may. Package imapsieve
// asks before counting the send against the user's outbound rate, so that a copy that is
// never sent does not take a slot of it.
func (a *Agent) HeldFromSieve(user string, msg smtp.Message) string {
	return (&onwardCheck{env: a.sieveEnvelope(user), parsed: &parsedMessage{msg: msg}}).held()
}

// sieveEnvelope is the envelope of what a script on an IMAP event sends: from the user,
// who acted on the message.
func (a *Agent) sieveEnvelope(user string) *smtp.Envelope {
	id := "imapsieve:" + randomID()
	return &smtp.Envelope{ID: id, From: user, Received: a.now(),
		Session: &smtp.Session{ID: id, Role: smtp.RoleSubmission, User: user, Trusted: true, Hostname: a.hostname, Start: a.now()}}
}

// ScriptLoader resolves "include" for one user's scripts as at delivery: :personal from
// the user's stored scripts, :global from globalDir ("" for none).
func ScriptLoader(ctx context.Context, st *store.Store, user, globalDir string) sieve.ScriptLoader {
	return userScriptLoader{ctx: ctx, st: st, user: user, global: globalDirLoader(globalDir)}
}
