package main

import (
	"context"

	"github.com/postern/postern/admin"
)

func doctorCommand() *command {
	return &command{
		name:    "doctor",
		summary: "check everything that makes mail fail silently, and say how to fix it",
		help: `The running daemon checks, at once: each smart host (reachable, TLS mode
matching its port - 465 implicit, 587 STARTTLS -, credentials accepted, with
the provider's advice when they are not), the CA bundle, our certificate (valid
for the hostname, not expiring within 14 days), the DNS records of every local
domain against what postern dns records prints (MX, SPF with the relay's
include, DKIM, DMARC, MTA-STS, TLSA), the modes of secret files, an open-relay
test as a client outside trusted_networks, trusted_networks wider than
loopback, the milter (Rspamd), mail queued longer than queue.delay_warning,
and free disk space. Each finding is a sentence with its fix. The exit status
is 1 when any finding is a warning or a problem; --json is for monitoring.`,
		flags: []flagSpec{jsonFlag()},
		run: func(ctx context.Context, c *cli, inv *invocation) error {
			return c.withClient(ctx, func(cl *admin.Client) error {
				rep, err := cl.Doctor(ctx)
				if err != nil {
					return err
				}
				return c.writeCheck(inv, rep, rep.Write, rep.OK)
			})
		},
	}
}
