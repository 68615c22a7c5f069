package server

import (
	"context"
	"errors"
	"io"
)

// Options are what cmd/postern hands to Serve.
type Options struct {
	ConfigPath string    // the config file
	Version    string    // stamped at build time
	LogOutput  io.Writer // where logs go; nil = os.Stderr
}

// Serve runs the daemon until ctx is cancelled or a fatal error occurs.
func Serve(ctx context.Context, opts Options) error {
	return errors.New("not implemented yet")
}
