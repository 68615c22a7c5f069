package main

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"strings"

	"github.com/postern/postern/admin"
	"github.com/postern/postern/server/config"
)

// dial reads the config to find the admin socket and connects to the daemon.
func (c *cli) dial(ctx context.Context) (*admin.Client, error) {
	cfg, err := config.Load(c.configPath)
	if err != nil {
		return nil, c.configError(err)
	}
	cl, err := admin.Dial(ctx, cfg.AdminSocket())
	if admin.ErrorCode(err) == admin.CodeNotRunning {
		return nil, withHint(err, fmt.Sprintf(
			"start it with `postern serve --config %s` or `systemctl start postern`", c.configPath))
	}
	return cl, err
}

// configError explains a config file that cannot be used to find the daemon.
func (c *cli) configError(err error) error {
	if errors.Is(err, fs.ErrNotExist) {
		return &configErr{withHint(fmt.Errorf("no config file at %s", c.configPath),
			"pass --config FILE or set POSTERN_CONFIG; create one with `postern config default > FILE`")}
	}
	first, _, more := strings.Cut(err.Error(), "\n")
	if more {
		first += " (and more)"
	}
	return &configErr{withHint(errors.New(first), "see every problem: postern config check "+c.configPath)}
}

// withClient runs fn with a connection to the daemon.
func (c *cli) withClient(ctx context.Context, fn func(*admin.Client) error) error {
	cl, err := c.dial(ctx)
	if err != nil {
		return err
	}
	defer cl.Close()
	return fn(cl)
}
