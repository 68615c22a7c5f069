package main

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/postern/postern/admin"
	"github.com/postern/postern/server/config"
)

func mailboxCommand() *command {
	return &command{
		name:    "mailbox",
		summary: "look at and change a user's mailboxes (what doveadm mailbox does for Dovecot)",
		help: `Changes go through the running IMAP server, so a user's open sessions see
them at once: an expunge is announced to clients that have the mailbox open.
Mailbox names are as IMAP clients show them, "/" between levels ("Archive/2024").`,
		subs: []*command{
			{
				name: "list", args: "ADDRESS", minArgs: 1, maxArgs: 1,
				summary: "list a user's mailboxes", flags: []flagSpec{jsonFlag()},
				run: func(ctx context.Context, c *cli, inv *invocation) error { return c.mailboxStatus(ctx, inv, false) },
			},
			{
				name: "status", args: "ADDRESS [MAILBOX]", minArgs: 1, maxArgs: 2,
				summary: "show message counts, unseen, size and UIDs of a user's mailboxes", flags: []flagSpec{jsonFlag()},
				run: func(ctx context.Context, c *cli, inv *invocation) error { return c.mailboxStatus(ctx, inv, true) },
			},
			{
				name: "create", args: "ADDRESS MAILBOX", minArgs: 2, maxArgs: 2,
				summary: "create a mailbox",
				flags:   []flagSpec{{name: "special-use", value: "ATTR", usage: `mark it as \Archive, \Drafts, \Junk, \Sent or \Trash (RFC 6154)`}},
				run: func(ctx context.Context, c *cli, inv *invocation) error {
					return c.mailboxDone(ctx, "created", inv, func(cl *admin.Client) error {
						return cl.CreateMailbox(ctx, inv.args[0], inv.args[1], inv.str("special-use"))
					})
				},
			},
			{
				name: "delete", args: "ADDRESS MAILBOX", minArgs: 2, maxArgs: 2,
				summary: "delete a mailbox and the messages in it (not the mailboxes below it)",
				run: func(ctx context.Context, c *cli, inv *invocation) error {
					return c.mailboxDone(ctx, "deleted", inv, func(cl *admin.Client) error {
						return cl.DeleteMailbox(ctx, inv.args[0], inv.args[1])
					})
				},
			},
			{
				name: "rename", args: "ADDRESS MAILBOX NEWNAME", minArgs: 3, maxArgs: 3,
				summary: "rename a mailbox and the mailboxes below it, keeping UIDs",
				run: func(ctx context.Context, c *cli, inv *invocation) error {
					return c.mailboxDone(ctx, "renamed", inv, func(cl *admin.Client) error {
						return cl.RenameMailbox(ctx, inv.args[0], inv.args[1], inv.args[2])
					})
				},
			},
			{
				name: "expunge", args: "ADDRESS MAILBOX", minArgs: 2, maxArgs: 2,
				summary: "remove the messages of a mailbox that arrived more than AGE ago",
				help: `AGE is like "30d", "2w" or "36h". [mailbox] autoexpunge_junk and
autoexpunge_trash do this every hour for every user's Junk and Trash.`,
				flags: []flagSpec{{name: "before", value: "AGE", usage: "required: how old a message must be to go"}, jsonFlag()},
				run:   mailboxExpunge,
			},
		},
	}
}

func (c *cli) mailboxDone(ctx context.Context, done string, inv *invocation, fn func(*admin.Client) error) error {
	return c.withClient(ctx, func(cl *admin.Client) error {
		if err := fn(cl); err != nil {
			return err
		}
		_, err := fmt.Fprintf(c.stdout, "%s %s of %s\n", done, inv.args[1], inv.args[0])
		return err
	})
}

func (c *cli) mailboxStatus(ctx context.Context, inv *invocation, counts bool) error {
	name := ""
	if len(inv.args) > 1 {
		name = inv.args[1]
	}
	return c.withClient(ctx, func(cl *admin.Client) error {
		ms, err := cl.MailboxStatus(ctx, inv.args[0], name)
		if err != nil {
			return err
		}
		if inv.bool("json") {
			return writeJSON(c.stdout, ms)
		}
		rows := make([][]string, len(ms))
		for i, m := range ms {
			use := m.SpecialUse
			if use == "" {
				use = "-"
			}
			if counts {
				rows[i] = []string{m.Name, use, itoa(m.Messages), itoa(m.Unseen), formatSize(m.Size),
					strconv.FormatUint(uint64(m.UIDValidity), 10), strconv.FormatUint(uint64(m.UIDNext), 10)}
			} else {
				rows[i] = []string{m.Name, use, yesNo(m.Subscribed)}
			}
		}
		header := []string{"MAILBOX", "SPECIAL-USE", "SUBSCRIBED"}
		if counts {
			header = []string{"MAILBOX", "SPECIAL-USE", "MESSAGES", "UNSEEN", "SIZE", "UIDVALIDITY", "UIDNEXT"}
		}
		return writeTable(c.stdout, "no mailboxes", header, rows)
	})
}

func mailboxExpunge(ctx context.Context, c *cli, inv *invocation) error {
	if inv.str("before") == "" {
		return inv.usage("--before AGE is required")
	}
	age, err := config.ParseAge(inv.str("before"))
	if err != nil {
		return inv.usage("--before: %v", err)
	}
	return c.withClient(ctx, func(cl *admin.Client) error {
		n, err := cl.ExpungeMailbox(ctx, inv.args[0], inv.args[1], time.Now().Add(-age))
		if err != nil {
			return err
		}
		if inv.bool("json") {
			return writeJSON(c.stdout, admin.Counted{Count: n})
		}
		_, err = fmt.Fprintf(c.stdout, "expunged %d %s from %s of %s\n", n, plural(n, "message", "messages"), inv.args[1], inv.args[0])
		return err
	})
}

func whoCommand() *command {
	return &command{
		name: "who", summary: "list the open IMAP sessions", flags: []flagSpec{jsonFlag()},
		run: func(ctx context.Context, c *cli, inv *invocation) error {
			return c.withClient(ctx, func(cl *admin.Client) error {
				ss, err := cl.Sessions(ctx)
				if err != nil {
					return err
				}
				if inv.bool("json") {
					return writeJSON(c.stdout, ss)
				}
				rows := make([][]string, len(ss))
				for i, s := range ss {
					user := s.User
					if user == "" {
						user = "(not logged in)"
					}
					mbox := s.Mailbox
					if mbox == "" {
						mbox = "-"
					}
					rows[i] = []string{user, s.Client, s.Connected.Local().Format("2006-01-02 15:04:05"), mbox}
				}
				return writeTable(c.stdout, "no IMAP sessions", []string{"USER", "CLIENT", "SINCE", "MAILBOX"}, rows)
			})
		},
	}
}

func kickCommand() *command {
	return &command{
		name: "kick", args: "ADDRESS", minArgs: 1, maxArgs: 1,
		summary: "end every IMAP session of a user (they may log in again)",
		help:    `Use it after changing a password or disabling a user, to drop sessions that logged in before.`,
		run: func(ctx context.Context, c *cli, inv *invocation) error {
			return c.withClient(ctx, func(cl *admin.Client) error {
				n, err := cl.Kick(ctx, inv.args[0])
				if err != nil {
					return err
				}
				_, err = fmt.Fprintf(c.stdout, "ended %d %s of %s\n", n, plural(n, "session", "sessions"), inv.args[0])
				return err
			})
		},
	}
}
