package main

import (
	"context"
	"errors"
	"syscall"

	"github.com/postern/postern/server"
)

func serveCommand() *command {
	return &command{
		name:    "serve",
		summary: "run the mail server in the foreground",
		help: `Runs every listener named in the config until SIGINT or SIGTERM, then stops
gracefully. Logs go to standard error. This is what the systemd unit and the
container entry point start. A config file that is missing or invalid ends it at once
with exit status 78 (EX_CONFIG), every problem on standard error (at journal priority
err under systemd); the unit's RestartPreventExitStatus=78 keeps systemd from restarting
it until the file is fixed.`,
		run: func(ctx context.Context, c *cli, _ *invocation) error {
			// Nothing the daemon creates is for other users (the state directory is
			// searchable by all for the maildrop), whatever umask it was started with;
			// files meant for others (the sockets, the maildrop) get their modes set.
			syscall.Umask(0o027)
			err := server.Serve(ctx, server.Options{
				ConfigPath: c.configPath,
				Version:    versionString(),
				LogOutput:  c.stderr,
				Getenv:     c.getenv,
			})
			var ce *server.ConfigError
			if errors.As(err, &ce) {
				// EX_CONFIG: the unit's RestartPreventExitStatus=78 stops systemd
				// from restarting a daemon whose config is broken.
				err = &configErr{err}
			}
			if err != nil && server.JournalStream(c.stderr, c.getenv) {
				// journald stores a line without a priority at info: why the daemon
				// stopped must show in `journalctl -p err`.
				return &journalError{err: err}
			}
			return err
		},
	}
}
