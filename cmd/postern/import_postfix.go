package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/postern/postern/migrate/postfix"
	"github.com/postern/postern/store/durable"
)

func importPostfixCommand() *command {
	return &command{
		name: "postfix", maxArgs: 0,
		summary: "take Postfix's virtual domains, virtual aliases and smart-host relay",
		help: `Reads main.cf in --dir: virtual_mailbox_domains and virtual_alias_domains become
domains, virtual_alias_maps (hash:, texthash:, ... from their source files, not .db)
aliases. relayhost with smtp_sasl_password_maps becomes a [relay] fragment, printed
for postern.toml, its password written to --password-file (mode 0600). Prints each
command it applied; with --dry-run, the ones it would apply.`,
		flags: []flagSpec{dryRunFlag(),
			{name: "dir", value: "DIR", usage: "Postfix's configuration directory (default /etc/postfix)"},
			{name: "password-file", value: "FILE", usage: "where to write the relay password (default: relay-password beside the config file)"}},
		run: importPostfix,
	}
}

func importPostfix(ctx context.Context, c *cli, inv *invocation) error {
	dir := inv.str("dir")
	if dir == "" {
		dir = "/etc/postfix"
	}
	plan, err := postfix.Read(dir)
	if err != nil {
		return err
	}
	dry := inv.bool("dry-run")
	prefix := ""
	if dry {
		prefix = "would run: "
	}
	failed := false
	err = c.withOfflineState(ctx, func(o *offlineState) error {
		for _, d := range plan.Domains {
			if ok, err := o.st.HasDomain(ctx, d); err == nil && ok {
				continue
			}
			if !dry {
				if _, err := o.st.AddDomain(ctx, d); err != nil {
					fmt.Fprintf(c.stderr, "postern: domain %s: %v\n", d, err)
					failed = true
					continue
				}
			}
			fmt.Fprintf(c.stdout, "%spostern domain add %s\n", prefix, d)
		}
		for _, a := range plan.Aliases {
			if have, err := o.st.AliasTargets(ctx, a.Source); err == nil && containsAll(have, a.Targets) {
				continue
			}
			if !dry {
				if err := o.st.AddAlias(ctx, a.Source, a.Targets); err != nil {
					fmt.Fprintf(c.stderr, "postern: %s: alias %s: %v\n", a.Where, a.Source, err)
					failed = true
					continue
				}
			}
			fmt.Fprintf(c.stdout, "%spostern alias add %s %s\n", prefix, a.Source, strings.Join(a.Targets, " "))
		}
		return nil
	})
	if err != nil {
		return err
	}
	for _, w := range plan.Warnings {
		fmt.Fprintf(c.stderr, "postern: postfix: %s\n", w)
	}
	if plan.Relay != nil {
		pwFile := inv.str("password-file")
		if pwFile == "" {
			pwFile = filepath.Join(filepath.Dir(c.configPath), "relay-password")
		}
		if plan.Relay.Username != "" && !dry {
			if err := writeSecret(pwFile, plan.Relay.Password); err != nil {
				return err
			}
			fmt.Fprintf(c.stdout, "wrote the relay password to %s\n", pwFile)
		}
		fmt.Fprintf(c.stdout, "\n# add to %s:\n%s", c.configPath, postfix.RelayTOML(plan.Relay, pwFile))
	}
	if failed {
		return exitStatus(1)
	}
	return nil
}

// writeSecret writes a password file (mode 0600), refusing to replace a different one.
func writeSecret(path, secret string) error {
	if old, err := os.ReadFile(path); err == nil {
		if bytes.Equal(bytes.TrimSpace(old), []byte(secret)) {
			return nil
		}
		return fmt.Errorf("%s exists with another password; remove it or pass --password-file", path)
	}
	return durable.WriteFile(path, []byte(secret+"\n"), 0o600)
}

func containsAll(have, want []string) bool {
	for _, w := range want {
		if !slices.Contains(have, w) {
			return false
		}
	}
	return true
}
