package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"

	"github.com/postern/postern/admin"
	"github.com/postern/postern/backup"
	"github.com/postern/postern/internal/fileowner"
	"github.com/postern/postern/server/config"
	"github.com/postern/postern/store"
)

func backupCommand() *command {
	return &command{
		name: "backup", args: "DIR", minArgs: 1, maxArgs: 1,
		summary: "back up the database, Maildirs, queue, keys, certificates and config while the daemon runs",
		help: `DIR must be missing or empty. The database is snapshotted first, so every message
acknowledged before the backup began is in it; message files are hard-linked when DIR
is on the same file system (no second copy), copied otherwise. Deliveries go on
meanwhile. The files the config names outside the state directory (TLS certificate and
key, password and credential files, CA bundles, global Sieve scripts) and the config
itself go to DIR/outside under their paths, modes kept. DIR/backup.json, written last,
marks the backup complete and records those paths.`,
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
		if inv.bool("json") {
			return writeJSON(c.stdout, r)
		}
		_, err = fmt.Fprintf(c.stdout, "backed up into %s: database %s (schema %d), %d files of %s (%d hard-linked), %d named by the config outside the state directory (config included); %.2fs\n",
			r.Dir, formatSize(r.DBBytes), r.Schema, r.Files, formatSize(r.Bytes), r.Linked, r.Outside, r.Seconds)
		if err == nil {
			err = c.printBackupSkips(r.Dir)
		}
		return err
	})
}

// printBackupSkips tells which named files were not found (the manifest has them).
func (c *cli) printBackupSkips(dir string) error {
	m, err := backup.ReadManifest(dir)
	if err != nil {
		return nil // the daemon's machine: nothing more to say
	}
	for _, s := range m.Skipped {
		if strings.Contains(s, "(not found)") {
			fmt.Fprintf(c.stderr, "postern: warning: the config names %s\n", s)
		}
	}
	return nil
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
the postern user). Each file the config names outside the state directory goes back
where the config in use names it, mode kept, when nothing is there; one that is there
and differs (the config itself, most often) or that the config no longer names is put
in STATE_DIR/restored-files/KEY/ instead, to compare.`,
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
	lines, err := backup.RestoreOutside(ctx, inv.args[0], m, restoreTargets(cfg, c.configPath), filepath.Join(cfg.StateDir, "restored-files"), owner)
	for _, l := range lines {
		fmt.Fprintln(c.stdout, l)
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

// restoreTargets is where the config in use wants each named file, itself included.
func restoreTargets(cfg *config.Config, configPath string) map[string]string {
	out := map[string]string{}
	if p, err := filepath.Abs(configPath); err == nil {
		out[backup.ConfigKey] = p
	}
	for _, f := range cfg.NamedFiles() {
		out[f.Key] = f.Path
	}
	return out
}
