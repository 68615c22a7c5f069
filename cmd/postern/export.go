package main

import (
	"context"
	"fmt"
	"path/filepath"

	"github.com/postern/postern/migrate/export"
	"github.com/postern/postern/store"
)

func exportCommand() *command {
	return &command{
		name: "export", args: "ADDRESS DIR", minArgs: 2, maxArgs: 2,
		summary: "write a user's mail to a Maildir++ tree with dovecot-uidlist (UIDs kept) or to mbox files",
		help: `DIR must be missing or empty. The Maildir++ tree (the default) is what Dovecot's
mail_location = maildir:DIR reads with every UIDVALIDITY and UID kept (and what
postern import dovecot takes back); message files are hard-linked where possible.
--mbox writes one mboxrd file per folder instead (DIR/NAME.mbox). Works on the state
directory directly: stop the daemon first.`,
		flags: []flagSpec{{name: "mbox", usage: "write mbox files instead of a Maildir++ tree"}},
		run:   runExport,
	}
}

func runExport(ctx context.Context, c *cli, inv *invocation) error {
	addr, err := store.NormalizeAddress(inv.args[0])
	if err != nil {
		return inv.usage("%v", err)
	}
	return c.withOfflineState(ctx, func(o *offlineState) error {
		if _, err := o.st.GetUser(ctx, addr); err != nil {
			return err
		}
		local, domain := store.SplitAddress(addr)
		root := filepath.Join(o.cfg.MailDir(), domain, local)
		write, form := export.Maildir, "Maildir++ tree"
		if inv.bool("mbox") {
			write, form = export.Mbox, "mbox files"
		}
		rep, err := write(ctx, o.st, addr, root, inv.args[1])
		if err != nil {
			return err
		}
		for _, m := range rep.Missing {
			fmt.Fprintf(c.stderr, "postern: %s: indexed but no file found; not exported\n", m)
		}
		_, err = fmt.Fprintf(c.stdout, "exported %s to %s as a %s: %d folders, %d messages (%d hard-linked, %d copied)\n",
			addr, inv.args[1], form, rep.Folders, rep.Messages, rep.Linked, rep.Copied)
		if err == nil && len(rep.Missing) > 0 {
			return exitStatus(1)
		}
		return err
	})
}
