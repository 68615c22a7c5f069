package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"strconv"

	"github.com/postern/postern/admin"
)

// maxScriptFile bounds what put, check and test read: the engine's 1 MiB script limit
// plus room for a message to test with.
const maxScriptFile = 16 << 20

func sieveCommand() *command {
	return &command{
		name:    "sieve",
		summary: "manage users' Sieve filters, and check or test a script locally",
		help: `list, get, put, activate and delete act on the scripts stored in the running
daemon (the same ones ManageSieve clients edit). check and test need no daemon: they
compile and run a script from files, the way delivery would.`,
		subs: []*command{
			{
				name: "list", args: "ADDRESS", minArgs: 1, maxArgs: 1,
				summary: "list a user's scripts; the active one is marked",
				flags:   []flagSpec{jsonFlag()},
				run:     sieveList,
			},
			{
				name: "get", args: "ADDRESS NAME", minArgs: 2, maxArgs: 2,
				summary: "print a stored script",
				run:     sieveGet,
			},
			{
				name: "put", args: "ADDRESS NAME [FILE]", minArgs: 2, maxArgs: 3,
				summary: "store a script from FILE or standard input (refused if it does not compile)",
				run:     sievePut,
			},
			{
				name: "activate", args: "ADDRESS [NAME]", minArgs: 1, maxArgs: 2,
				summary: "make NAME the script that runs at delivery; without NAME, run none",
				run:     sieveActivate,
			},
			{
				name: "delete", args: "ADDRESS NAME", minArgs: 2, maxArgs: 2,
				summary: "delete a script that is not active",
				run:     sieveDelete,
			},
			sieveCheckCommand(),
			sieveTestCommand(),
		},
	}
}

func sieveList(ctx context.Context, c *cli, inv *invocation) error {
	return c.withClient(ctx, func(cl *admin.Client) error {
		list, err := cl.ListSieveScripts(ctx, inv.args[0])
		if err != nil {
			return err
		}
		if inv.bool("json") {
			return writeJSON(c.stdout, list)
		}
		rows := make([][]string, len(list))
		for i, s := range list {
			active := "no"
			if s.Active {
				active = "yes"
			}
			rows[i] = []string{s.Name, active, strconv.FormatInt(s.Size, 10), day(s.UpdatedAt)}
		}
		return writeTable(c.stdout, "no scripts", []string{"NAME", "ACTIVE", "SIZE", "UPDATED"}, rows)
	})
}

func sieveGet(ctx context.Context, c *cli, inv *invocation) error {
	return c.withClient(ctx, func(cl *admin.Client) error {
		s, err := cl.GetSieveScript(ctx, inv.args[0], inv.args[1])
		if err == nil {
			_, err = io.WriteString(c.stdout, s.Content)
		}
		return err
	})
}

func sievePut(ctx context.Context, c *cli, inv *invocation) error {
	var src []byte
	var err error
	if len(inv.args) == 3 && inv.args[2] != "-" {
		src, err = readLimited(inv.args[2], nil)
	} else {
		src, err = readLimited("standard input", c.stdin)
	}
	if err != nil {
		return err
	}
	return c.withClient(ctx, func(cl *admin.Client) error {
		s, err := cl.PutSieveScript(ctx, inv.args[0], inv.args[1], string(src))
		if err == nil {
			fmt.Fprintf(c.stdout, "stored sieve script %s of %s (%d bytes)\n", s.Name, inv.args[0], s.Size)
		}
		return err
	})
}

func sieveActivate(ctx context.Context, c *cli, inv *invocation) error {
	name := ""
	if len(inv.args) == 2 {
		name = inv.args[1]
	}
	return c.withClient(ctx, func(cl *admin.Client) error {
		err := cl.ActivateSieveScript(ctx, inv.args[0], name)
		switch {
		case err != nil:
		case name == "":
			fmt.Fprintf(c.stdout, "no sieve script active for %s\n", inv.args[0])
		default:
			fmt.Fprintf(c.stdout, "activated sieve script %s of %s\n", name, inv.args[0])
		}
		return err
	})
}

func sieveDelete(ctx context.Context, c *cli, inv *invocation) error {
	return c.withClient(ctx, func(cl *admin.Client) error {
		err := cl.DeleteSieveScript(ctx, inv.args[0], inv.args[1])
		if err == nil {
			fmt.Fprintf(c.stdout, "deleted sieve script %s of %s\n", inv.args[1], inv.args[0])
		}
		return err
	})
}

// readLimited reads a file (or r, when not nil, named by what) of at most maxScriptFile.
func readLimited(what string, r io.Reader) ([]byte, error) {
	if r == nil {
		f, err := os.Open(what)
		if err != nil {
			return nil, err
		}
		defer f.Close()
		r = f
	}
	b, err := io.ReadAll(io.LimitReader(r, maxScriptFile+1))
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", what, err)
	}
	if len(b) > maxScriptFile {
		return nil, fmt.Errorf("%s is larger than %d bytes", what, maxScriptFile)
	}
	return b, nil
}
