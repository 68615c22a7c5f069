package main

import (
	"context"
	"fmt"

	"github.com/postern/postern/admin"
)

func reindexCommand() *command {
	return &command{
		name: "reindex", args: "ADDRESS", minArgs: 1, maxArgs: 1,
		summary: "rebuild a user's message index from their Maildir (after other tools changed it)",
		flags:   []flagSpec{jsonFlag()},
		run: func(ctx context.Context, c *cli, inv *invocation) error {
			return c.withClient(ctx, func(cl *admin.Client) error {
				rs, err := cl.Reindex(ctx, inv.args[0])
				if err != nil {
					return err
				}
				if inv.bool("json") {
					return writeJSON(c.stdout, rs)
				}
				rows := make([][]string, len(rs))
				for i, r := range rs {
					note := ""
					if r.UIDValidityChanged {
						note = "new UIDVALIDITY: clients resync"
					}
					rows[i] = []string{r.Mailbox, itoa(r.Kept), itoa(r.Added), itoa(r.Removed), itoa(r.Updated), note}
				}
				if err := writeTable(c.stdout, "no Maildir yet for "+inv.args[0], []string{"MAILBOX", "KEPT", "ADDED", "REMOVED", "UPDATED", ""}, rows); err != nil {
					return err
				}
				_, err = fmt.Fprintf(c.stdout, "reindexed %s\n", inv.args[0])
				return err
			})
		},
	}
}
