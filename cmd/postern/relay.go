package main

import (
	"context"
	"io"

	"github.com/postern/postern/admin"
)

func relayCommand() *command {
	return &command{
		name:    "relay",
		summary: "check the outbound smart host",
		subs: []*command{
			{
				name:    "test",
				summary: "connect to the smart host step by step and explain what fails",
				help: `The running daemon connects to the [relay] host with its own settings and
password: DNS, TCP connect, TLS and the certificate, the banner, EHLO, STARTTLS
and AUTH; with --to it also sends a short test message. Each step is printed;
a failure is explained in plain words (a refused password, the wrong TLS mode
for the port, an unknown certificate authority, a blocked port). The exit
status is 1 when a step failed. --relay NAME tests the [relays.NAME] table
instead of [relay].`,
				flags: []flagSpec{{name: "to", value: "ADDRESS", usage: "also send a test message to ADDRESS"},
					{name: "relay", value: "NAME", usage: "test the [relays.NAME] smart host instead of [relay]"}, jsonFlag()},
				run: relayTest,
			},
		},
	}
}

func relayTest(ctx context.Context, c *cli, inv *invocation) error {
	return c.withClient(ctx, func(cl *admin.Client) error {
		rep, err := cl.TestRelay(ctx, inv.str("to"), inv.str("relay"))
		if err != nil {
			return err
		}
		return c.writeCheck(inv, rep, rep.Write, rep.OK)
	})
}

// writeCheck prints the report of a check (JSON with --json, else write) and exits 1
// when it found problems.
func (c *cli) writeCheck(inv *invocation, rep any, write func(io.Writer) error, ok bool) error {
	var err error
	if inv.bool("json") {
		err = writeJSON(c.stdout, rep)
	} else {
		err = write(c.stdout)
	}
	if err != nil {
		return err
	}
	if !ok {
		return exitStatus(exitError)
	}
	return nil
}
