package main

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"

	"github.com/postern/postern/server/config"
)

func configCommand() *command {
	return &command{
		name:    "config",
		summary: "write or check the config file",
		subs: []*command{
			{
				name:    "default",
				summary: "print a complete config file with every default",
				help: `Prints a config file with every key at its default value and a comment
explaining it; redirect it into /etc/postern/postern.toml and edit.`,
				flags: []flagSpec{{name: "hostname", value: "NAME",
					usage: "the mail server's name (default: this machine's host name)"}},
				run: configDefault,
			},
			{
				name:    "check",
				args:    "[FILE]",
				summary: "check a config file and report every problem",
				help: `Checks FILE (default: the --config file) without starting anything. Each
problem is printed on its own line as FILE:LINE: message and the exit status is 1.
Warnings (valid but probably unintended settings) are printed too, with exit
status 0.`,
				maxArgs: 1,
				run:     configCheck,
			},
		},
	}
}

func configDefault(_ context.Context, c *cli, inv *invocation) error {
	host := inv.str("hostname")
	if host == "" {
		h, err := os.Hostname()
		if err != nil {
			return withHint(fmt.Errorf("cannot tell this machine's host name: %w", err),
				"pass --hostname mail.example.org")
		}
		host = h
	}
	_, err := c.stdout.Write(config.DefaultTOML(host))
	return err
}

func configCheck(_ context.Context, c *cli, inv *invocation) error {
	path := c.configPath
	if len(inv.args) == 1 {
		path = inv.args[0]
	}
	cfg, err := config.Load(path)
	if errors.Is(err, fs.ErrNotExist) {
		return withHint(fmt.Errorf("no config file at %s", path),
			"create one with `postern config default > FILE`")
	}
	if err != nil {
		// config joins its problems with newlines, one per line, each already naming
		// the file and line.
		for line := range strings.SplitSeq(err.Error(), "\n") {
			fmt.Fprintln(c.stderr, line)
		}
		return exitStatus(exitError)
	}
	for _, w := range cfg.Warnings() {
		fmt.Fprintf(c.stderr, "warning: %s\n", w)
	}
	fmt.Fprintf(c.stdout, "%s: ok\n", path)
	return nil
}
