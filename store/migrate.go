package store

import (
	"context"
	"database/sql"
	"embed"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"
)

//go:embed migrations/*.sql
var migrationFS embed.FS

// migration is one numbered schema step, migrations/NNNN_name.sql.
type migration struct {
	version int
	name    string
	sql     string
}

// loadMigrations reads the embedded files in version order and checks that the numbers
// run 1, 2, 3... with no gap or duplicate: a gap would mean a step silently skipped.
func loadMigrations(fsys fs.FS) ([]migration, error) {
	entries, err := fs.ReadDir(fsys, "migrations")
	if err != nil {
		return nil, err
	}
	var ms []migration
	for _, e := range entries {
		name := e.Name()
		if e.IsDir() || !strings.HasSuffix(name, ".sql") {
			continue
		}
		num, _, ok := strings.Cut(name, "_")
		v, err := strconv.Atoi(num)
		if !ok || err != nil || v <= 0 {
			return nil, fmt.Errorf("migration file %q is not named NNNN_name.sql", name)
		}
		body, err := fs.ReadFile(fsys, path.Join("migrations", name))
		if err != nil {
			return nil, err
		}
		ms = append(ms, migration{version: v, name: name, sql: string(body)})
	}
	sort.Slice(ms, func(i, j int) bool { return ms[i].version < ms[j].version })
	for i, m := range ms {
		if m.version != i+1 {
			return nil, fmt.Errorf("migrations are not numbered 1..n: %q is at position %d", m.name, i+1)
		}
	}
	return ms, nil
}

// migrate brings the database to the newest known version and returns it. Each step runs
// in its own IMMEDIATE transaction together with its PRAGMA user_version bump (both are
// transactional in SQLite), so a crash mid-way leaves a consistent older version and the
// next start resumes.
//
// Before migrating a database that has data (version > 0), a copy of it at its current
// version is written to backupDir (see MigrationBackupDir), so an upgrade that goes
// wrong can be undone; a database newer than this code is refused with the name of the
// newest such copy this code can read.
func migrate(ctx context.Context, db *sql.DB, log *slog.Logger, backupDir string, now time.Time) (int, error) {
	ms, err := loadMigrations(migrationFS)
	if err != nil {
		return 0, fmt.Errorf("store: %w", err)
	}
	known := len(ms)
	cur, err := userVersion(ctx, db)
	if err != nil {
		return 0, err
	}
	if cur > known {
		hint := "upgrade postern or restore a backup (postern restore)"
		if b := newestBackupAtMost(backupDir, known); b != "" {
			hint = "upgrade postern, or stop it and copy " + b + " over the database (it was taken before the migration)"
		}
		return 0, fmt.Errorf("%w: database schema version %d is newer than this postern understands (%d); %s",
			ErrNewerSchema, cur, known, hint)
	}
	if cur > 0 && cur < known {
		if err := os.MkdirAll(backupDir, 0o700); err != nil {
			return 0, fmt.Errorf("store: backup before migration: %w", err)
		}
		path := filepath.Join(backupDir, migrationBackupName(cur, now))
		if err := vacuumInto(ctx, db, path); err != nil {
			return 0, fmt.Errorf("store: backup before migration: %w", err)
		}
		if err := syncFile(path); err != nil {
			return 0, fmt.Errorf("store: backup before migration: %w", err)
		}
		log.Info("store: copied the database before migrating its schema", "from", cur, "to", known, "backup", path)
	}
	for _, m := range ms[cur:] {
		if err := applyMigration(ctx, db, m); err != nil {
			return 0, err
		}
		log.Info("store: applied schema migration", "version", m.version, "file", m.name)
	}
	return known, nil
}

func userVersion(ctx context.Context, db *sql.DB) (int, error) {
	var v int
	if err := db.QueryRowContext(ctx, "PRAGMA user_version").Scan(&v); err != nil {
		return 0, fmt.Errorf("read schema version: %w", err)
	}
	return v, nil
}

func applyMigration(ctx context.Context, db *sql.DB, m migration) error {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("migration %s: begin: %w", m.name, err)
	}
	defer tx.Rollback()
	// Re-check inside the write lock: another process may have migrated meanwhile.
	var v int
	if err := tx.QueryRowContext(ctx, "PRAGMA user_version").Scan(&v); err != nil {
		return fmt.Errorf("migration %s: %w", m.name, err)
	}
	if v >= m.version {
		return nil
	}
	if v != m.version-1 {
		return fmt.Errorf("migration %s: database is at version %d, expected %d", m.name, v, m.version-1)
	}
	if _, err := tx.ExecContext(ctx, m.sql); err != nil {
		return fmt.Errorf("migration %s: %w", m.name, err)
	}
	// PRAGMA takes no bound parameters; the value is our own integer.
	if _, err := tx.ExecContext(ctx, "PRAGMA user_version = "+strconv.Itoa(m.version)); err != nil {
		return fmt.Errorf("migration %s: set version: %w", m.name, err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("migration %s: commit: %w", m.name, err)
	}
	return nil
}
