package main

import (
	"context"
	"fmt"
	"strings"

	"github.com/postern/postern/server/dnsrecords"
	"github.com/postern/postern/server/initcfg"
)

func initCommand() *command {
	return &command{
		name:    "init",
		summary: "write a first config for a domain and print the DNS records to publish",
		help: `Writes the --config file (refusing to overwrite one) and, with --relay, the relay
password file beside it (mode 0600, the password read from stdin). Then prints how
to start the server and add the first user, and the DNS records for the domain.`,
		flags: []flagSpec{
			{name: "domain", value: "DOMAIN", usage: "the mail domain, e.g. example.com"},
			{name: "hostname", value: "NAME", usage: "this server's name, e.g. mail.example.com"},
			{name: "relay", value: "PROVIDER", usage: "the smart host preset (fastmail, mailgun, brevo, postmark, smtp2go, gmail)"},
			{name: "relay-user", value: "USER", usage: "the smart host's user name"},
			{name: "relay-username", value: "USER", usage: "same as --relay-user"},
			{name: "password-stdin", usage: "read the smart host's (app) password from stdin"},
			{name: "relay-password-stdin", usage: "same as --password-stdin"},
			{name: "user", value: "ADDRESS", usage: "the first user, e.g. you@example.com"},
			{name: "state-dir", value: "DIR", usage: "where mail and the database live (default /var/lib/postern)"},
			{name: "non-interactive", usage: "never prompt (init takes everything from flags and stdin anyway)"},
		},
		run: runInit,
	}
}

func runInit(_ context.Context, c *cli, inv *invocation) error {
	o := initcfg.Options{
		ConfigPath: c.configPath, Domain: inv.str("domain"), Hostname: inv.str("hostname"),
		StateDir: inv.str("state-dir"), Relay: inv.str("relay"),
		RelayUser: inv.str("relay-user") + inv.str("relay-username"),
	}
	if inv.bool("password-stdin") || inv.bool("relay-password-stdin") {
		pw, err := readPasswordLine(c.stdin)
		if err != nil {
			return err
		}
		o.RelayPassword = pw
	}
	res, err := initcfg.Write(o)
	if err != nil {
		return err
	}
	fmt.Fprintf(c.stdout, "wrote %s\n", c.configPath)
	if res.PasswordFile != "" {
		fmt.Fprintf(c.stdout, "wrote %s (mode 0600; make it owned by the postern user)\n", res.PasswordFile)
	}
	user := inv.str("user")
	if user == "" {
		user = "you@" + o.Domain
	}
	fmt.Fprintf(c.stdout, `
Next:
  systemctl enable --now postern      # or: postern serve --config %s
  postern domain add %s
  postern user add %s --password-stdin

DNS records to publish for %s (print them again with: postern dns records %s;
check them with: postern dns check %s):

`, c.configPath, o.Domain, user, o.Domain, o.Domain, o.Domain)
	opts := dnsrecords.FromConfig(res.Config, strings.ToLower(o.Domain))
	return printRecords(c, opts, false)
}
