package main

import (
	"context"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
)

func helpCommand() *command {
	return &command{
		name:    "help",
		args:    "[COMMAND...]",
		summary: "show help for a command",
		maxArgs: -1,
		run: func(_ context.Context, c *cli, inv *invocation) error {
			cmd, path, rest, err := c.resolve(inv.args)
			if err != nil {
				return err
			}
			if len(rest) > 0 {
				return &usageError{cmd: cmd, path: path,
					msg: fmt.Sprintf("unknown command %q", strings.Join(append(path, rest[0]), " "))}
			}
			c.printHelp(c.stdout, cmd, path)
			return nil
		},
	}
}

// printHelp writes the help of one command: usage, description, subcommands, flags.
func (c *cli) printHelp(w io.Writer, cmd *command, path []string) {
	fmt.Fprintf(w, "usage: %s\n\n", usageLine(cmd, path))
	fmt.Fprintf(w, "%s.\n", capitalize(cmd.summary))
	if cmd.help != "" {
		fmt.Fprintf(w, "\n%s\n", strings.TrimSpace(cmd.help))
	}
	if len(cmd.subs) > 0 {
		fmt.Fprintf(w, "\ncommands:\n")
		tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
		for _, s := range cmd.subs {
			fmt.Fprintf(tw, "  %s\t%s\n", s.name, s.summary)
		}
		tw.Flush()
	}
	fmt.Fprintf(w, "\nflags:\n")
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	for _, f := range cmd.flags {
		fmt.Fprintf(tw, "  %s\t%s\n", flagSynopsis(f), f.usage)
	}
	fmt.Fprintf(tw, "  --%s %s\t%s\n", configFlagName, configFlagValue, configFlagUsage)
	fmt.Fprintf(tw, "  -h, --help\tshow this help\n")
	tw.Flush()
	if len(cmd.subs) > 0 {
		fmt.Fprintf(w, "\nRun \"postern help %s\" for a command's details.\n",
			strings.TrimSpace(strings.Join(path, " ")+" COMMAND"))
	}
}

func flagSynopsis(f flagSpec) string {
	if f.value == "" {
		return "--" + f.name
	}
	return "--" + f.name + " " + f.value
}

func capitalize(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}
