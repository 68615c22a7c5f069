package admin

import (
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"time"
)

// Listen creates the admin socket at path. With an admin group the file is chowned to it
// and made 0660; without one (or when the chown is refused) it stays 0600, usable by root
// and the daemon's user, and a warning is logged. A stale socket left by a crash is
// removed; a live one (another daemon answering) or a non-socket file at path is an error.
//
// The mode is set right after bind, so for a moment the file has umask permissions; that
// is harmless because every connection is checked by peer credentials anyway.
func Listen(path string, a Access, logger *slog.Logger) (net.Listener, error) {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, fmt.Errorf("admin socket directory: %w", err)
	}
	if err := removeStaleSocket(path); err != nil {
		return nil, err
	}
	ln, err := net.Listen("unix", path)
	if err != nil {
		return nil, fmt.Errorf("admin socket: %w", err)
	}
	mode := fs.FileMode(0o600)
	if a.HasGroup {
		if err := os.Chown(path, -1, int(a.GID)); err != nil {
			logger.Warn("cannot give the admin socket to its group; keeping it 0600",
				"socket", path, "group", a.Group, "err", err)
		} else {
			mode = 0o660
		}
	}
	if err := os.Chmod(path, mode); err != nil {
		ln.Close()
		return nil, fmt.Errorf("admin socket: %w", err)
	}
	return ln, nil
}

// removeStaleSocket deletes a socket file nobody listens on any more.
func removeStaleSocket(path string) error {
	fi, err := os.Lstat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("admin socket: %w", err)
	}
	if fi.Mode().Type() != fs.ModeSocket {
		return fmt.Errorf("admin socket: %s exists and is not a socket; refusing to replace it", path)
	}
	if c, err := net.DialTimeout("unix", path, time.Second); err == nil {
		c.Close()
		return fmt.Errorf("admin socket: another postern is already listening on %s", path)
	}
	if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("admin socket: removing stale %s: %w", path, err)
	}
	return nil
}
