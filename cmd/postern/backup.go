package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"

	"github.com/postern/postern/admin"
	"github.com/postern/postern/backup"
	"github.com/postern/postern/internal/fileowner"
	"github.com/postern/postern/server/config"
	"github.com/postern/postern/store"
	"github.com/postern/postern/store/durable"
)

func backupCommand() *command {
	return &command{
		name: "backup", args: "DIR", minArgs: 1, maxArgs: 1,
		summary: "back up the database, Maildirs, queue, keys, certificates and config while the daemon runs",
		help: `DIR must be missing or empty. The database is snapshotted first, so every message
acknowledged before the backup began is in it; message files are hard-linked when DIR
is on the same file system (no second copy), copied otherwise. Deliveries go on
meanwhile. DIR/backup.json, written last, marks the backup complete.`,
		flags: []flagSpec{jsonFlag()},
		run:   runBackup,
	}
}

func runBackup(ctx context.Context, c *cli, inv *invocation) error {
	dir, err := filepath.Abs(inv.args[0])
	if err != nil {
		return err
	}
	return c.withClient(ctx, func(cl *admin.Client) error {
		r, err := cl.Backup(ctx, dir)
		if err != nil {
			return err
		}
		if err := c.copyConfigInto(filepath.Join(dir, "config")); err != nil {
			return fmt.Errorf("backup of the state taken, but copying the config failed: %w", err)
		}
		if inv.bool("json") {
			return writeJSON(c.stdout, r)
		}
		_, err = fmt.Fprintf(c.stdout, "backed up into %s: database %s (schema %d), %d files of %s (%d hard-linked), config; %.2fs\n",
			r.Dir, formatSize(r.DBBytes), r.Schema, r.Files, formatSize(r.Bytes), r.Linked, r.Seconds)
		return err
	})
}

// copyConfigInto copies the config file into dir (mode 0600: it may name secrets).
func (c *cli) copyConfigInto(dir string) error {
	data, err := os.ReadFile(c.configPath)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	return durable.WriteFile(filepath.Join(dir, filepath.Base(c.configPath)), data, 0o600)
}

func restoreCommand() *command {
	return &command{
		name: "restore", args: "DIR", minArgs: 1, maxArgs: 1,
		summary: "put a backup back into an empty state directory (daemon stopped) and verify the index against the files",
		help: `The state directory named by the config must be empty or missing, and the daemon
stopped. After copying, the index is compared with the message files: UIDs of every
file are kept, messages delivered during the backup are indexed, entries of messages
expunged meanwhile are dropped. Modes are kept; run as root, restore gives the files
to the service user (the state directory's owner when it exists and is not root, else
the postern user). The config file saved in DIR/config is not put back: compare it
with yours.`,
		run: runRestore,
	}
}

func runRestore(ctx context.Context, c *cli, inv *invocation) error {
	cfg, err := config.Load(c.configPath)
	if err != nil {
		return c.configError(err)
	}
	owner, ownerWhy := restoreOwner(cfg.StateDir, inv.args[0])
	if err := os.MkdirAll(cfg.StateDir, 0o750); err != nil {
		return err
	}
	lock, err := store.LockDir(cfg.StateDir)
	if err != nil {
		return withHint(fmt.Errorf("the state directory %s is in use: %w", cfg.StateDir, err), "stop the daemon first (systemctl stop postern)")
	}
	defer lock.Close()
	m, err := backup.Restore(ctx, inv.args[0], cfg.StateDir)
	if err != nil {
		return err
	}
	st, err := store.Open(ctx, cfg.DBPath(), store.Options{Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		return fmt.Errorf("restored files, but the database does not open: %w", err)
	}
	rep, err := backup.Verify(ctx, st, cfg.MailDir(), m.Counters)
	if cerr := st.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	if err := fileowner.Tree(cfg.StateDir, owner[0], owner[1]); err != nil {
		return fmt.Errorf("restored, but: %w", err)
	}
	_, err = fmt.Fprintf(c.stdout, "restored the backup of %s: %d users, %d mailboxes, %d messages; %d index entries without a file dropped, %d files indexed anew\n",
		m.Created.Local().Format("2006-01-02 15:04:05"), rep.Users, rep.Mailboxes, rep.Messages, rep.Missing, rep.Unindexed)
	if err == nil && ownerWhy != "" {
		_, err = fmt.Fprintln(c.stdout, ownerWhy)
	}
	return err
}

// restoreOwner is who a restore run as root gives the state directory to, and the line
// that says so: the state directory's owner when it exists and is not root, else the
// service user when it exists, else the owner of the backup's files (the daemon wrote
// them). Not root: nobody (-1), the files are the caller's already.
func restoreOwner(stateDir, backupDir string) ([2]int, string) {
	none := [2]int{-1, -1}
	if os.Geteuid() != 0 {
		return none, ""
	}
	if uid, gid, err := fileowner.Of(stateDir); err == nil && uid != 0 {
		return [2]int{uid, gid}, fmt.Sprintf("gave the restored files to uid %d gid %d, the owner of %s", uid, gid, stateDir)
	}
	if o := serviceOwner(); o != nil {
		return *o, fmt.Sprintf("gave the restored files to the %s user (uid %d gid %d)", serviceUser, o[0], o[1])
	}
	if uid, gid, err := fileowner.Of(filepath.Join(backupDir, "state", "postern.db")); err == nil && uid != 0 {
		return [2]int{uid, gid}, fmt.Sprintf("gave the restored files to uid %d gid %d, who owned the backup", uid, gid)
	}
	return none, fmt.Sprintf("the restored files belong to root: give them to the user the daemon runs as (chown -R USER %s)", stateDir)
}
