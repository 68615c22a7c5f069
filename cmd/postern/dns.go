package main

import (
	"context"
	"fmt"

	"github.com/postern/postern/server/config"
	"github.com/postern/postern/server/dnsrecords"
)

func dnsCommand() *command {
	return &command{
		name:    "dns",
		summary: "the DNS records a mail domain needs, and whether they are published",
		subs: []*command{
			{
				name: "records", args: "DOMAIN", minArgs: 1, maxArgs: 1,
				summary: "print the records to publish for DOMAIN, in zone-file syntax",
				help: `Prints MX, SPF (with the smart host's include), the provider's DKIM records,
DMARC, TLS-RPT, TLSA for DANE (from the certificate the server serves) and the SRV
and autoconfig records mail clients look for, each after a comment saying why.`,
				flags: []flagSpec{jsonFlag()},
				run:   dnsRecords,
			},
			{
				name: "check", args: "DOMAIN", minArgs: 1, maxArgs: 1,
				summary: "look the records up (through [dns] servers) and say what is missing or wrong",
				help:    `Exit status 1 when a record is missing, wrong or could not be looked up.`,
				flags:   []flagSpec{jsonFlag()},
				run:     dnsCheck,
			},
		},
	}
}

func dnsRecords(_ context.Context, c *cli, inv *invocation) error {
	cfg, err := config.Load(c.configPath)
	if err != nil {
		return err
	}
	o := dnsrecords.FromConfig(cfg, inv.args[0])
	return printRecords(c, o, inv.bool("json"))
}

// printRecords prints the records with a comment each (shared with postern init).
func printRecords(c *cli, o dnsrecords.Options, asJSON bool) error {
	rs := dnsrecords.Records(o)
	if asJSON {
		return writeJSON(c.stdout, rs)
	}
	for _, r := range rs {
		fmt.Fprintf(c.stdout, "; %s\n%s\n", r.Why, r)
	}
	if h := dnsrecords.DKIMHint(o.Relay); h != "" {
		fmt.Fprintf(c.stdout, "; DKIM for %s: %s\n", o.Relay, h)
	}
	return nil
}

func dnsCheck(ctx context.Context, c *cli, inv *invocation) error {
	cfg, err := config.Load(c.configPath)
	if err != nil {
		return err
	}
	res := dnsrecords.Check(ctx, cfg.DNS.Addrs(), dnsrecords.Records(dnsrecords.FromConfig(cfg, inv.args[0])))
	bad := 0
	for _, r := range res {
		if r.Status != dnsrecords.OK {
			bad++
		}
	}
	if inv.bool("json") {
		if err := writeJSON(c.stdout, res); err != nil {
			return err
		}
	} else {
		for _, r := range res {
			fmt.Fprintf(c.stdout, "%-13s %s %s", r.Status, r.Record.Name, r.Record.Type)
			if r.Status != dnsrecords.OK {
				fmt.Fprintf(c.stdout, ": want %s", r.Record.Value)
				if len(r.Found) > 0 {
					fmt.Fprintf(c.stdout, ", found %q", r.Found)
				}
				if r.Detail != "" && r.Status == dnsrecords.Failed {
					fmt.Fprintf(c.stdout, " (%s)", r.Detail)
				}
			}
			fmt.Fprintln(c.stdout)
		}
	}
	if bad > 0 {
		return exitStatus(exitError)
	}
	return nil
}
