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
	var named []backup.Named
	if b.namedFiles != nil {
		named = b.namedFiles()
	}
	m, err := backup.Take(ctx, b.st, b.stateDir, dir, named)
	if err != nil {
		return admin.BackupResult{}, err
	}
	return admin.BackupResult{Dir: dir, Schema: m.Schema, Files: m.Files, Linked: m.Linked, Bytes: m.Bytes,
		DBBytes: m.DBBytes, Seconds: m.Seconds, Skipped: len(m.Skipped), Outside: len(m.Outside)}, nil
}

// namedFiles is what the current config names outside the state directory, and the
// config file itself, for a backup.
func (s *Server) namedFiles() []backup.Named {
	cfg := s.currentConfig()
	var out []backup.Named
	if p, err := filepath.Abs(s.opts.ConfigPath); err == nil && s.opts.ConfigPath != "" {
		out = append(out, backup.Named{Key: backup.ConfigKey, Path: p})
	}
	for _, f := range cfg.NamedFiles() {
		out = append(out, backup.Named{Key: f.Key, Path: f.Path})
	}
	return out
}
