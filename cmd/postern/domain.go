package main

import (
	"context"
	"fmt"

	"github.com/postern/postern/admin"
)

func domainCommand() *command {
	return &command{
		name:    "domain",
		summary: "manage the domains this server receives mail for",
		subs: []*command{
			{
				name: "add", args: "NAME", minArgs: 1, maxArgs: 1,
				summary: "start receiving mail for a domain",
				run: func(ctx context.Context, c *cli, inv *invocation) error {
					return c.withClient(ctx, func(cl *admin.Client) error {
						d, err := cl.AddDomain(ctx, inv.args[0])
						if err == nil {
							fmt.Fprintf(c.stdout, "added domain %s\n", d.Name)
						}
						return err
					})
				},
			},
			{
				name: "list", maxArgs: 0,
				summary: "list the local domains",
				flags:   []flagSpec{jsonFlag()},
				run:     domainList,
			},
			{
				name: "remove", args: "NAME", minArgs: 1, maxArgs: 1,
				summary: "stop receiving mail for a domain that has no users or aliases left",
				run: func(ctx context.Context, c *cli, inv *invocation) error {
					return c.withClient(ctx, func(cl *admin.Client) error {
						err := cl.RemoveDomain(ctx, inv.args[0])
						if err == nil {
							fmt.Fprintf(c.stdout, "removed domain %s\n", inv.args[0])
						}
						return err
					})
				},
			},
		},
	}
}

func domainList(ctx context.Context, c *cli, inv *invocation) error {
	return c.withClient(ctx, func(cl *admin.Client) error {
		ds, err := cl.ListDomains(ctx)
		if err != nil {
			return err
		}
		if inv.bool("json") {
			return writeJSON(c.stdout, ds)
		}
		rows := make([][]string, len(ds))
		for i, d := range ds {
			rows[i] = []string{d.Name, itoa(d.Users), itoa(d.Aliases), day(d.CreatedAt)}
		}
		return writeTable(c.stdout, "no domains yet", []string{"DOMAIN", "USERS", "ALIASES", "CREATED"}, rows)
	})
}
