package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"syscall"

	"github.com/postern/postern/server/config"
	"github.com/postern/postern/store"
)

// offlineState is the state directory opened directly, without a daemon: imports and
// restores run so, under the state directory's lock, so a running daemon is never
// written under.
type offlineState struct {
	cfg   *config.Config
	st    *store.Store
	owner [2]int // uid, gid of the state directory: what new files are given (as root)
}

// withOfflineState loads the config, takes the state lock, opens the store and runs fn.
// A running daemon holds the lock: the error says to stop it.
func (c *cli) withOfflineState(ctx context.Context, fn func(o *offlineState) error) error {
	cfg, err := config.Load(c.configPath)
	if err != nil {
		return c.configError(err)
	}
	if err := os.MkdirAll(cfg.StateDir, 0o750); err != nil {
		return fmt.Errorf("creating %s: %w", cfg.StateDir, err)
	}
	lock, err := store.LockDir(cfg.StateDir)
	if err != nil {
		return withHint(fmt.Errorf("the state directory %s is in use: %w", cfg.StateDir, err),
			"this command works on the state directory directly; stop the daemon first (systemctl stop postern)")
	}
	defer lock.Close()
	st, err := store.Open(ctx, cfg.DBPath(), store.Options{Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		return err
	}
	o := &offlineState{cfg: cfg, st: st, owner: [2]int{-1, -1}}
	if fi, err := os.Stat(cfg.StateDir); err == nil && os.Geteuid() == 0 {
		if s, ok := fi.Sys().(*syscall.Stat_t); ok && s.Uid != 0 {
			o.owner = [2]int{int(s.Uid), int(s.Gid)}
		}
	}
	err = fn(o)
	if cerr := st.Close(); err == nil && cerr != nil {
		err = cerr
	}
	if err == nil && o.owner[0] >= 0 {
		err = chownSideFiles(cfg.DBPath(), o.owner)
	}
	return err
}

// chownSideFiles gives the database and its WAL files back to the service user after
// root opened them.
func chownSideFiles(db string, owner [2]int) error {
	for _, p := range []string{db, db + "-wal", db + "-shm"} {
		if err := os.Lchown(p, owner[0], owner[1]); err != nil && !errors.Is(err, os.ErrNotExist) {
			return err
		}
	}
	return nil
}
