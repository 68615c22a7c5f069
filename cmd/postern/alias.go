package main

import (
	"context"
	"fmt"
	"strings"

	"github.com/postern/postern/admin"
)

func aliasCommand() *command {
	return &command{
		name:    "alias",
		summary: "manage aliases and catch-alls",
		help: `A SOURCE is an address in a local domain, or "@domain" for the domain's
catch-all. Targets are addresses, local or external.`,
		subs: []*command{
			{
				name: "add", args: "SOURCE TARGET...", minArgs: 2, maxArgs: -1,
				summary: "forward mail for SOURCE to the targets (added to any it already has)",
				run:     aliasAdd,
			},
			{
				name: "list", args: "[DOMAIN]", maxArgs: 1,
				summary: "list aliases, of every domain or of one",
				flags:   []flagSpec{jsonFlag()},
				run:     aliasList,
			},
			{
				name: "remove", args: "SOURCE [TARGET...]", minArgs: 1, maxArgs: -1,
				summary: "remove some targets of an alias, or the whole alias when none are given",
				run:     aliasRemove,
			},
		},
	}
}

func aliasAdd(ctx context.Context, c *cli, inv *invocation) error {
	return c.withClient(ctx, func(cl *admin.Client) error {
		a, err := cl.AddAlias(ctx, inv.args[0], inv.args[1:])
		if err != nil {
			return err
		}
		_, err = fmt.Fprintf(c.stdout, "%s -> %s\n", a.Source, strings.Join(a.Targets, ", "))
		return err
	})
}

func aliasList(ctx context.Context, c *cli, inv *invocation) error {
	domain := ""
	if len(inv.args) == 1 {
		domain = inv.args[0]
	}
	return c.withClient(ctx, func(cl *admin.Client) error {
		as, err := cl.ListAliases(ctx, domain)
		if err != nil {
			return err
		}
		if inv.bool("json") {
			return writeJSON(c.stdout, as)
		}
		rows := make([][]string, len(as))
		for i, a := range as {
			rows[i] = []string{a.Source, strings.Join(a.Targets, ", ")}
		}
		return writeTable(c.stdout, "no aliases", []string{"SOURCE", "TARGETS"}, rows)
	})
}

func aliasRemove(ctx context.Context, c *cli, inv *invocation) error {
	return c.withClient(ctx, func(cl *admin.Client) error {
		if err := cl.RemoveAlias(ctx, inv.args[0], inv.args[1:]); err != nil {
			return err
		}
		what := "alias " + inv.args[0]
		if len(inv.args) > 1 {
			what = strings.Join(inv.args[1:], ", ") + " from alias " + inv.args[0]
		}
		_, err := fmt.Fprintf(c.stdout, "removed %s\n", what)
		return err
	})
}
