package admin

import "context"

const cmdBackup = "backup"

// BackupBackend takes backups of the running daemon's state.
type BackupBackend interface {
	// Backup writes a consistent backup of the state directory into dir (missing or
	// empty), while the daemon goes on serving.
	Backup(ctx context.Context, dir string) (BackupResult, error)
}

// BackupResult describes a backup just taken.
type BackupResult struct {
	Dir     string  `json:"dir"`
	Schema  int     `json:"schema"`
	Files   int     `json:"files"`
	Linked  int     `json:"linked"`
	Bytes   int64   `json:"bytes"`
	DBBytes int64   `json:"db_bytes"`
	Seconds float64 `json:"seconds"`
	Skipped int     `json:"skipped"` // files that vanished while walking (expunged), named files not found
	Outside int     `json:"outside"` // files the config names outside the state directory, config included
}

type backupArgs struct {
	Dir string `json:"dir"`
}

func backupCommands() map[string]handler {
	return map[string]handler{
		cmdBackup: bind(func(ctx context.Context, b Backend, a backupArgs) (BackupResult, error) {
			if err := need("dir", a.Dir); err != nil {
				return BackupResult{}, err
			}
			return b.Backup(ctx, a.Dir)
		}),
	}
}

// Backup asks the daemon to back its state up into dir (an absolute path on the
// daemon's machine).
func (c *Client) Backup(ctx context.Context, dir string) (BackupResult, error) {
	var r BackupResult
	err := c.call(ctx, cmdBackup, backupArgs{Dir: dir}, &r)
	return r, err
}
