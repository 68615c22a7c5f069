package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/postern/postern/admin"
	"github.com/postern/postern/smtp/queue"
)

func queueCommand() *command {
	byID := func(name, summary, done string, fn func(*admin.Client) func(context.Context, string) error) *command {
		return &command{
			name: name, args: "ID...", minArgs: 1, maxArgs: -1, summary: summary,
			run: func(ctx context.Context, c *cli, inv *invocation) error {
				return c.withClient(ctx, func(cl *admin.Client) error {
					var errs []error
					for _, id := range inv.args {
						if err := fn(cl)(ctx, id); err != nil {
							errs = append(errs, err)
							continue
						}
						fmt.Fprintf(c.stdout, "%s %s\n", done, id)
					}
					return joinAdminErrors(errs)
				})
			},
		}
	}
	return &command{
		name:    "queue",
		summary: "look at and steer the outbound queue (mail waiting for the relay)",
		help: `Mail for other domains waits in the queue until the smart host (or the
recipient's MX) accepts it. list shows it the way Postfix's mailq does, with the
last error of every recipient; the IDs it prints are what the other commands take.`,
		subs: []*command{
			{
				name: "list", summary: "list queued messages with each recipient's last error (like mailq)",
				flags: []flagSpec{jsonFlag()},
				run: func(ctx context.Context, c *cli, inv *invocation) error {
					return c.queueList(ctx, inv.bool("json"))
				},
			},
			{
				name: "show", args: "ID", minArgs: 1, maxArgs: 1,
				summary: "show one queued message: envelope, attempts, recipients and headers",
				flags:   []flagSpec{jsonFlag()},
				run:     queueShow,
			},
			{
				name: "flush", summary: "try every waiting message now (held ones stay held)",
				run: func(ctx context.Context, c *cli, _ *invocation) error {
					return c.withClient(ctx, func(cl *admin.Client) error {
						n, err := cl.FlushQueue(ctx)
						if err == nil {
							fmt.Fprintf(c.stdout, "%d %s to be tried now\n", n, plural(n, "message", "messages"))
						}
						return err
					})
				},
			},
			byID("retry", "try these messages now", "retrying", func(cl *admin.Client) func(context.Context, string) error { return cl.RetryQueued }),
			byID("hold", "stop trying these messages until released", "held", func(cl *admin.Client) func(context.Context, string) error { return cl.HoldQueued }),
			byID("release", "release held messages and try them now", "released", func(cl *admin.Client) func(context.Context, string) error { return cl.ReleaseQueued }),
			byID("delete", "remove messages from the queue without a bounce", "deleted", func(cl *admin.Client) func(context.Context, string) error { return cl.DeleteQueued }),
		},
	}
}

// joinAdminErrors keeps one error as it is (with its hint); several are joined.
func joinAdminErrors(errs []error) error {
	if len(errs) == 1 {
		return errs[0]
	}
	return errors.Join(errs...)
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

// queueList prints the queue as mailq does, or as JSON.
func (c *cli) queueList(ctx context.Context, asJSON bool) error {
	return c.withClient(ctx, func(cl *admin.Client) error {
		list, err := cl.ListQueue(ctx)
		if err != nil {
			return err
		}
		if asJSON {
			return writeJSON(c.stdout, list)
		}
		return queue.WriteMailq(c.stdout, list, nil)
	})
}

func queueShow(ctx context.Context, c *cli, inv *invocation) error {
	return c.withClient(ctx, func(cl *admin.Client) error {
		m, err := cl.ShowQueue(ctx, inv.args[0])
		if err != nil {
			return err
		}
		if inv.bool("json") {
			return writeJSON(c.stdout, m)
		}
		return writeQueued(c.stdout, m)
	})
}

func writeQueued(w io.Writer, m admin.QueuedMessage) error {
	var b strings.Builder
	from := m.From
	if from == "" {
		from = "<> (a bounce)"
	}
	state := "waiting"
	switch {
	case m.Active:
		state = "being delivered"
	case m.Held:
		state = "held (postern queue release " + m.ID + ")"
	}
	fmt.Fprintf(&b, "id:       %s\n", m.ID)
	fmt.Fprintf(&b, "state:    %s\n", state)
	fmt.Fprintf(&b, "from:     %s\n", from)
	fmt.Fprintf(&b, "size:     %d\n", m.Size)
	fmt.Fprintf(&b, "arrived:  %s\n", m.Arrival.Local().Format(time.DateTime+" MST"))
	if m.Origin != "" {
		fmt.Fprintf(&b, "origin:   %s\n", m.Origin)
	}
	fmt.Fprintf(&b, "attempts: %d\n", m.Attempts)
	if !m.LastAttempt.IsZero() {
		fmt.Fprintf(&b, "last:     %s\n", m.LastAttempt.Local().Format(time.DateTime+" MST"))
	}
	if !m.NextAttempt.IsZero() && !m.Held {
		fmt.Fprintf(&b, "next:     %s\n", m.NextAttempt.Local().Format(time.DateTime+" MST"))
	}
	for _, r := range m.Rcpts {
		fmt.Fprintf(&b, "to:       %s  %s", r.Addr, r.Status)
		if r.LastError != "" {
			reason := r.LastError
			if r.Code != 0 {
				reason = fmt.Sprintf("%d %s", r.Code, reason)
			}
			if r.RemoteMTA != "" {
				reason = r.RemoteMTA + " said: " + reason
			}
			fmt.Fprintf(&b, " (%s)", reason)
		}
		b.WriteString("\n")
	}
	b.WriteString("\n")
	b.WriteString(strings.ReplaceAll(m.Headers, "\r\n", "\n"))
	_, err := io.WriteString(w, b.String())
	return err
}
