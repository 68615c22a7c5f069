package main

import (
	"context"
	"fmt"
	"time"

	"github.com/postern/postern/admin"
	"github.com/postern/postern/server/config"
	"github.com/postern/postern/trace"
)

func traceCommand() *command {
	return &command{
		name:    "trace",
		summary: "tell what happened to a message: where it came from, what the checks said, where it went",
		help: `Select messages by --message-id, --address (envelope sender or recipient),
--queue-id, or a time window (--since/--until, an age like "2h" or "3d", or
RFC 3339 time). Each message's story is printed in plain lines: the client and
its HELO, TLS, each refusal, the message and its Message-ID, each recipient's
mailbox or queue entry, each attempt to send it with the remote reply, when it
is tried next. Events are kept as long as [trace] max_age and max_size allow.`,
		flags: []flagSpec{
			{name: "message-id", value: "ID", usage: "the Message-ID header field, with or without <>"},
			{name: "address", value: "ADDRESS", usage: "an envelope sender or recipient"},
			{name: "queue-id", value: "ID", usage: "an outbound queue id (postern queue list)"},
			{name: "since", value: "WHEN", usage: `only events after WHEN: an age ("2h", "3d") or RFC 3339 time`},
			{name: "until", value: "WHEN", usage: "only events before WHEN"},
			jsonFlag(),
		},
		run: runTrace,
	}
}

func traceTime(inv *invocation, name string) (time.Time, error) {
	v := inv.str(name)
	if v == "" {
		return time.Time{}, nil
	}
	if t, err := time.Parse(time.RFC3339, v); err == nil {
		return t, nil
	}
	age, err := config.ParseAge(v)
	if err != nil {
		return time.Time{}, inv.usage("--%s: %q is neither an age nor an RFC 3339 time", name, v)
	}
	return time.Now().Add(-age), nil
}

func runTrace(ctx context.Context, c *cli, inv *invocation) error {
	q := trace.Query{MessageID: inv.str("message-id"), Address: inv.str("address"), QueueID: inv.str("queue-id")}
	var err error
	if q.Since, err = traceTime(inv, "since"); err != nil {
		return err
	}
	if q.Until, err = traceTime(inv, "until"); err != nil {
		return err
	}
	if q == (trace.Query{}) {
		return inv.usage("give --message-id, --address, --queue-id, --since or --until")
	}
	return c.withClient(ctx, func(cl *admin.Client) error {
		stories, err := cl.Trace(ctx, q)
		if err != nil {
			return err
		}
		if inv.bool("json") {
			return writeJSON(c.stdout, stories)
		}
		if len(stories) == 0 {
			_, err := fmt.Fprintln(c.stdout, "no message matches")
			return err
		}
		for i, s := range stories {
			if i > 0 {
				fmt.Fprintln(c.stdout)
			}
			if err := s.Write(c.stdout); err != nil {
				return err
			}
		}
		return nil
	})
}
