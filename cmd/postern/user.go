package main

import (
	"context"
	"fmt"

	"github.com/postern/postern/admin"
)

func userCommand() *command {
	return &command{
		name:    "user",
		summary: "manage mail users, their passwords and quotas",
		subs: []*command{
			{
				name: "add", args: "ADDRESS", minArgs: 1, maxArgs: 1,
				summary: "create a user in a local domain",
				help: `The password is asked twice on the terminal, or read from the first line of
standard input with --password-stdin; it is never taken from the command line.`,
				flags: []flagSpec{passwordStdinFlag(),
					{name: "quota", value: "SIZE", usage: "mailbox quota such as 500M or 2G (default: unlimited)"}},
				run: userAdd,
			},
			{
				name: "list", args: "[DOMAIN]", maxArgs: 1,
				summary: "list users, of every domain or of one",
				flags:   []flagSpec{jsonFlag()},
				run:     userList,
			},
			{
				name: "remove", args: "ADDRESS", minArgs: 1, maxArgs: 1,
				summary: "delete a user and its app passwords (its Maildir stays on disk)",
				run: simpleUserCmd("removed user %s", func(ctx context.Context, cl *admin.Client, a string) error {
					return cl.RemoveUser(ctx, a)
				}),
			},
			{
				name: "passwd", args: "ADDRESS", minArgs: 1, maxArgs: 1,
				summary: "set a user's password",
				flags:   []flagSpec{passwordStdinFlag()},
				run:     userPasswd,
			},
			{
				name: "disable", args: "ADDRESS", minArgs: 1, maxArgs: 1,
				summary: "refuse a user's logins until it is enabled again",
				run: simpleUserCmd("disabled user %s", func(ctx context.Context, cl *admin.Client, a string) error {
					return cl.SetDisabled(ctx, a, true)
				}),
			},
			{
				name: "enable", args: "ADDRESS", minArgs: 1, maxArgs: 1,
				summary: "allow a disabled user's logins again",
				run: simpleUserCmd("enabled user %s", func(ctx context.Context, cl *admin.Client, a string) error {
					return cl.SetDisabled(ctx, a, false)
				}),
			},
			{
				name: "quota", args: "ADDRESS [SIZE]", minArgs: 1, maxArgs: 2,
				summary: "show a user's mailbox usage and quota, or set the quota (0 or unlimited removes it)",
				help: `Without SIZE, prints the mail stored next to the quota. SIZE is a number of bytes
with an optional K, M, G or T suffix (powers of 1024).`,
				run: userQuota,
			},
			appPasswordCommand(),
		},
	}
}

// simpleUserCmd is a command that takes one address, calls the daemon and confirms.
func simpleUserCmd(done string, fn func(context.Context, *admin.Client, string) error) func(context.Context, *cli, *invocation) error {
	return func(ctx context.Context, c *cli, inv *invocation) error {
		return c.withClient(ctx, func(cl *admin.Client) error {
			if err := fn(ctx, cl, inv.args[0]); err != nil {
				return err
			}
			_, err := fmt.Fprintf(c.stdout, done+"\n", inv.args[0])
			return err
		})
	}
}

func userAdd(ctx context.Context, c *cli, inv *invocation) error {
	nu := admin.NewUser{Address: inv.args[0]}
	if q := inv.str("quota"); q != "" {
		n, err := parseSize(q)
		if err != nil {
			return inv.usage("%v", err)
		}
		nu.QuotaBytes = n
	}
	// Connect first: asking for a password only to learn the daemon is down is annoying.
	return c.withClient(ctx, func(cl *admin.Client) error {
		pw, err := c.newPassword(inv, nu.Address)
		if err != nil {
			return err
		}
		nu.Password = pw
		u, err := cl.AddUser(ctx, nu)
		if err != nil {
			return err
		}
		_, err = fmt.Fprintf(c.stdout, "added user %s (quota %s)\n", u.Address, formatSize(u.QuotaBytes))
		return err
	})
}

func userList(ctx context.Context, c *cli, inv *invocation) error {
	domain := ""
	if len(inv.args) == 1 {
		domain = inv.args[0]
	}
	return c.withClient(ctx, func(cl *admin.Client) error {
		us, err := cl.ListUsers(ctx, domain)
		if err != nil {
			return err
		}
		if inv.bool("json") {
			return writeJSON(c.stdout, us)
		}
		rows := make([][]string, len(us))
		for i, u := range us {
			rows[i] = []string{u.Address, formatUsed(u.UsedBytes), formatSize(u.QuotaBytes), yesNo(u.Disabled), itoa(u.AppPasswords), day(u.CreatedAt)}
		}
		return writeTable(c.stdout, "no users", []string{"ADDRESS", "USED", "QUOTA", "DISABLED", "APP PASSWORDS", "CREATED"}, rows)
	})
}

func userPasswd(ctx context.Context, c *cli, inv *invocation) error {
	address := inv.args[0]
	return c.withClient(ctx, func(cl *admin.Client) error {
		pw, err := c.newPassword(inv, address)
		if err != nil {
			return err
		}
		if err := cl.SetPassword(ctx, address, pw); err != nil {
			return err
		}
		_, err = fmt.Fprintf(c.stdout, "changed the password of %s\n", address)
		return err
	})
}

func userQuota(ctx context.Context, c *cli, inv *invocation) error {
	address := inv.args[0]
	if len(inv.args) == 1 {
		return c.withClient(ctx, func(cl *admin.Client) error {
			u, err := cl.GetUser(ctx, address)
			if err != nil {
				return err
			}
			_, err = fmt.Fprintf(c.stdout, "%s uses %s of %s\n", u.Address, formatUsed(u.UsedBytes), quotaText(u))
			return err
		})
	}
	n, err := parseSize(inv.args[1])
	if err != nil {
		return inv.usage("%v", err)
	}
	return c.withClient(ctx, func(cl *admin.Client) error {
		if err := cl.SetQuota(ctx, address, n); err != nil {
			return err
		}
		_, err := fmt.Fprintf(c.stdout, "quota of %s is now %s\n", address, formatSize(n))
		return err
	})
}

// quotaText is the quota with the share of it in use: "10M (12%)", or "unlimited".
func quotaText(u admin.User) string {
	if u.QuotaBytes <= 0 {
		return "unlimited"
	}
	return fmt.Sprintf("%s (%d%%)", formatSize(u.QuotaBytes), u.UsedBytes*100/u.QuotaBytes)
}
