package main

import (
	"context"
	"fmt"

	"github.com/postern/postern/admin"
)

func appPasswordCommand() *command {
	return &command{
		name:    "app-password",
		summary: "manage a user's per-device passwords",
		help: `An app password works wherever the user's password does (IMAP, submission,
ManageSieve) and can be revoked alone, e.g. when a phone is lost.`,
		subs: []*command{
			{
				name: "add", args: "ADDRESS NAME", minArgs: 2, maxArgs: 2,
				summary: "generate an app password and print it once",
				help:    `The secret is shown only this once; only a hash of it is kept.`,
				flags:   []flagSpec{jsonFlag()},
				run:     appPasswordAdd,
			},
			{
				name: "list", args: "ADDRESS", minArgs: 1, maxArgs: 1,
				summary: "list a user's app passwords (names and dates, never secrets)",
				flags:   []flagSpec{jsonFlag()},
				run:     appPasswordList,
			},
			{
				name: "revoke", args: "ADDRESS NAME", minArgs: 2, maxArgs: 2,
				summary: "delete one app password",
				run: func(ctx context.Context, c *cli, inv *invocation) error {
					return c.withClient(ctx, func(cl *admin.Client) error {
						if err := cl.RevokeAppPassword(ctx, inv.args[0], inv.args[1]); err != nil {
							return err
						}
						_, err := fmt.Fprintf(c.stdout, "revoked app password %q of %s\n", inv.args[1], inv.args[0])
						return err
					})
				},
			},
		},
	}
}

func appPasswordAdd(ctx context.Context, c *cli, inv *invocation) error {
	return c.withClient(ctx, func(cl *admin.Client) error {
		ap, err := cl.AddAppPassword(ctx, inv.args[0], inv.args[1])
		if err != nil {
			return err
		}
		if inv.bool("json") {
			return writeJSON(c.stdout, ap)
		}
		_, err = fmt.Fprintf(c.stdout, "app password %q for %s (shown only this once):\n\n    %s\n\n",
			ap.Name, ap.Address, ap.Secret)
		return err
	})
}

func appPasswordList(ctx context.Context, c *cli, inv *invocation) error {
	return c.withClient(ctx, func(cl *admin.Client) error {
		aps, err := cl.ListAppPasswords(ctx, inv.args[0])
		if err != nil {
			return err
		}
		if inv.bool("json") {
			return writeJSON(c.stdout, aps)
		}
		rows := make([][]string, len(aps))
		for i, ap := range aps {
			rows[i] = []string{ap.Name, day(ap.CreatedAt), day(ap.LastUsed)}
		}
		return writeTable(c.stdout, "no app passwords", []string{"NAME", "CREATED", "LAST USED"}, rows)
	})
}
