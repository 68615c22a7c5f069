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
			{
				name:    "show",
				args:    "[FILE]",
				summary: "print the effective config: every default filled in, secrets elided",
				help: `Prints FILE (default: the --config file) as the server reads it: every key,
defaults filled in, paths made absolute, as TOML (what postconf -n is to
Postfix). Secrets stay in the files the config names and are never printed; a
password in a URL is shown as xxxxx. A file with problems is refused as by
config check.`,
				maxArgs: 1,
				run:     configShow,
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

// loadArg loads FILE (default: the --config file); problems are printed one per line and
// exitStatus(code) returned.
func (c *cli) loadArg(inv *invocation, code int) (*config.Config, string, error) {
	path := c.configPath
	if len(inv.args) == 1 {
		path = inv.args[0]
	}
	cfg, err := config.Load(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, path, withHint(fmt.Errorf("no config file at %s", path),
			"create one with `postern config default > FILE`")
	}
	if err != nil {
		// config joins its problems with newlines, one per line, each already naming
		// the file and line.
		for line := range strings.SplitSeq(err.Error(), "\n") {
			fmt.Fprintln(c.stderr, line)
		}
		return nil, path, exitStatus(code)
	}
	return cfg, path, nil
}

func configShow(_ context.Context, c *cli, inv *invocation) error {
	cfg, _, err := c.loadArg(inv, exitConfig)
	var status exitStatus
	if err != nil && !errors.As(err, &status) {
		return &configErr{err}
	}
	if err != nil {
		return err
	}
	out, err := config.Show(cfg)
	if err != nil {
		return err
	}
	_, err = c.stdout.Write(out)
	return err
}

func configCheck(_ context.Context, c *cli, inv *invocation) error {
	cfg, path, err := c.loadArg(inv, exitError)
	if err != nil {
		return err
	}
	for _, w := range cfg.Warnings() {
		fmt.Fprintf(c.stderr, "warning: %s\n", w)
	}
	fmt.Fprintf(c.stdout, "%s: ok\n", path)
	return nil
}
