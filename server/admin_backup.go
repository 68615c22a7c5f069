package server

import (
	"context"
	"path/filepath"

	"github.com/postern/postern/admin"
	"github.com/postern/postern/backup"
)

// Backup takes a backup of the state directory while the daemon serves (package backup).
func (b *adminBackend) Backup(ctx context.Context, dir string) (admin.BackupResult, error) {
	if !filepath.IsAbs(dir) {
		return admin.BackupResult{}, admin.Errorf(admin.CodeInvalid, "give an absolute path", "backup directory %q is not absolute", dir)
	}
	m, err := backup.Take(ctx, b.st, b.stateDir, dir)
	if err != nil {
		return admin.BackupResult{}, err
	}
	return admin.BackupResult{Dir: dir, Schema: m.Schema, Files: m.Files, Linked: m.Linked, Bytes: m.Bytes,
		DBBytes: m.DBBytes, Seconds: m.Seconds, Skipped: len(m.Skipped)}, nil
}
