package main

import (
	"context"
	"fmt"
	"slices"
	"text/tabwriter"
	"time"

	"github.com/postern/postern/admin"
)

func statusCommand() *command {
	return &command{
		name:    "status",
		summary: "show the running daemon's version, paths and listeners",
		help: `Reports the addresses actually bound, so a listener configured with port 0
shows its real port. With --json the object has the keys version, pid,
started_at, config, state_dir, schema_version and listeners.`,
		flags: []flagSpec{jsonFlag()},
		run: func(ctx context.Context, c *cli, inv *invocation) error {
			return c.withClient(ctx, func(cl *admin.Client) error {
				st, err := cl.Status(ctx)
				if err != nil {
					return err
				}
				if inv.bool("json") {
					return writeJSON(c.stdout, st)
				}
				return c.printStatus(st)
			})
		},
	}
}

func (c *cli) printStatus(st admin.Status) error {
	tw := tabwriter.NewWriter(c.stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "version\t%s\n", st.Version)
	fmt.Fprintf(tw, "pid\t%d\n", st.PID)
	fmt.Fprintf(tw, "started\t%s\n", st.StartedAt.Local().Format(time.DateTime+" MST"))
	fmt.Fprintf(tw, "config\t%s\n", st.Config)
	fmt.Fprintf(tw, "state dir\t%s\n", st.StateDir)
	fmt.Fprintf(tw, "schema version\t%d\n", st.SchemaVersion)
	names := make([]string, 0, len(st.Listeners))
	for name := range st.Listeners {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		fmt.Fprintf(tw, "listen %s\t%s\n", name, st.Listeners[name])
	}
	return tw.Flush()
}
