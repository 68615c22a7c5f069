package server

import (
	"context"
	"log/slog"
	"time"

	"github.com/postern/postern/server/config"
	"github.com/postern/postern/store"
)

// autoexpungeInterval is how often the Junk and Trash mailboxes are swept.
const autoexpungeInterval = time.Hour

// autoexpunger removes old messages from every user's \Junk and \Trash mailboxes
// ([mailbox] autoexpunge_junk, autoexpunge_trash), through the IMAP server so that
// open sessions are told.
type autoexpunger struct {
	st    *store.Store
	boxes mailboxManager
	cfg   func() *config.Config // the current config, re-read at each sweep (SIGHUP)
	log   *slog.Logger
	now   func() time.Time
}

// run sweeps once at start and then every autoexpungeInterval until ctx ends.
func (a *autoexpunger) run(ctx context.Context) {
	t := time.NewTicker(autoexpungeInterval)
	defer t.Stop()
	for {
		a.sweep(ctx)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// sweep expunges what is due in every user's special-use mailboxes.
func (a *autoexpunger) sweep(ctx context.Context) {
	junk, trash := a.cfg().Mailbox.Ages()
	ages := map[string]time.Duration{store.SpecialJunk: junk, store.SpecialTrash: trash}
	if junk == 0 && trash == 0 {
		return
	}
	users, err := a.st.ListUsers(ctx, "")
	if err != nil {
		a.log.Warn("autoexpunge: listing users", "err", err)
		return
	}
	for _, u := range users {
		mbs, err := a.st.ListMailboxes(ctx, u.Address)
		if err != nil {
			a.log.Warn("autoexpunge: listing mailboxes", "user", u.Address, "err", err)
			continue
		}
		for _, mb := range mbs {
			age := ages[mb.SpecialUse]
			if age == 0 || mb.Messages == 0 {
				continue
			}
			n, err := a.boxes.ExpungeBefore(ctx, u.Address, mb.Name, a.now().Add(-age))
			switch {
			case err != nil:
				a.log.Warn("autoexpunge", "user", u.Address, "mailbox", mb.Name, "err", err)
			case n > 0:
				a.log.Info("autoexpunge", "user", u.Address, "mailbox", mb.Name, "removed", n)
			}
		}
	}
}
