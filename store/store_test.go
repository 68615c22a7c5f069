package store

import (
	"context"
	"database/sql"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"testing/fstest"
	"time"
)

func TestOpenCreatesPrivateWALDatabase(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "postern.db")
	s := openAt(t, path)
	if got, want := s.SchemaVersion(), len(mustMigrations(t)); got != want {
		t.Fatalf("SchemaVersion = %d, want %d", got, want)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Fatalf("database mode %v, want 0600", fi.Mode().Perm())
	}
	ctx := context.Background()
	for _, db := range []*sql.DB{s.w, s.r} {
		var mode string
		var sync, fk int
		if err := db.QueryRowContext(ctx, "PRAGMA journal_mode").Scan(&mode); err != nil {
			t.Fatal(err)
		}
		if err := db.QueryRowContext(ctx, "PRAGMA synchronous").Scan(&sync); err != nil {
			t.Fatal(err)
		}
		if err := db.QueryRowContext(ctx, "PRAGMA foreign_keys").Scan(&fk); err != nil {
			t.Fatal(err)
		}
		if mode != "wal" || sync != 2 || fk != 1 {
			t.Fatalf("journal_mode=%s synchronous=%d foreign_keys=%d, want wal 2 1", mode, sync, fk)
		}
	}
	if _, err := s.r.ExecContext(ctx, "INSERT INTO domains(name, created_at) VALUES ('x.org', 0)"); err == nil {
		t.Fatal("reader pool accepted a write; it must be query_only")
	}
}

func TestReopenKeepsDataAndSkipsMigrations(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "postern.db")
	s, err := Open(ctx, path, testOptions())
	if err != nil {
		t.Fatal(err)
	}
	mustDomain(t, s, "example.org")
	mustUser(t, s, "alice@example.org", "secret one")
	if err := s.AddAlias(ctx, "postmaster@example.org", []string{"alice@example.org"}); err != nil {
		t.Fatal(err)
	}
	v := s.SchemaVersion()
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		s2 := openAt(t, path)
		if s2.SchemaVersion() != v {
			t.Fatalf("version changed on reopen: %d -> %d", v, s2.SchemaVersion())
		}
		if _, err := s2.Authenticate(ctx, "alice@example.org", "secret one"); err != nil {
			t.Fatalf("Authenticate after reopen: %v", err)
		}
		targets, err := s2.AliasTargets(ctx, "postmaster@example.org")
		if err != nil || len(targets) != 1 || targets[0] != "alice@example.org" {
			t.Fatalf("AliasTargets after reopen = %v, %v", targets, err)
		}
		s2.Close()
	}
}

func TestOpenRefusesNewerSchema(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "postern.db")
	s := openAt(t, path)
	known := s.SchemaVersion()
	if _, err := s.w.ExecContext(ctx, "PRAGMA user_version = 99"); err != nil {
		t.Fatal(err)
	}
	s.Close()
	_, err := Open(ctx, path, testOptions())
	wantErr(t, err, ErrNewerSchema)
	want := "database schema version 99 is newer than this postern understands (" + strconv.Itoa(known) + "); upgrade postern or restore a backup"
	if !strings.Contains(err.Error(), want) {
		t.Fatalf("error %q does not contain %q", err, want)
	}
	// With a copy taken before a migration, the refusal names it.
	backup := filepath.Join(MigrationBackupDir(path), migrationBackupName(known, time.Unix(1800000000, 0)))
	if err := os.MkdirAll(filepath.Dir(backup), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(backup, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := Open(ctx, path, testOptions()); err == nil || !strings.Contains(err.Error(), backup) {
		t.Fatalf("refusal does not name the backup %s: %v", backup, err)
	}
}

func TestOpenPathWithURISpecialCharacters(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "a?b#c%20d")
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "postern.db")
	openAt(t, path)
	if _, err := os.Stat(path); err != nil {
		t.Fatalf("database not created at the literal path: %v", err)
	}
}

func TestOpenMissingDirectoryFails(t *testing.T) {
	t.Parallel()
	_, err := Open(context.Background(), filepath.Join(t.TempDir(), "nope", "postern.db"), testOptions())
	if err == nil {
		t.Fatal("Open in a missing directory succeeded")
	}
}

func TestLoadMigrationsRejectsGapsAndBadNames(t *testing.T) {
	t.Parallel()
	for name, fsys := range map[string]fstest.MapFS{
		"gap":       {"migrations/0001_a.sql": {}, "migrations/0003_c.sql": {}},
		"duplicate": {"migrations/0001_a.sql": {}, "migrations/0001_b.sql": {}},
		"bad name":  {"migrations/init.sql": {}},
		"zero":      {"migrations/0000_a.sql": {}},
	} {
		if _, err := loadMigrations(fsys); err == nil {
			t.Errorf("%s: loadMigrations accepted it", name)
		}
	}
	ms, err := loadMigrations(fstest.MapFS{"migrations/0002_b.sql": {Data: []byte("B")}, "migrations/0001_a.sql": {Data: []byte("A")}, "migrations/README": {}})
	if err != nil || len(ms) != 2 || ms[0].sql != "A" || ms[1].sql != "B" {
		t.Fatalf("loadMigrations = %+v, %v", ms, err)
	}
}

func mustMigrations(t *testing.T) []migration {
	t.Helper()
	ms, err := loadMigrations(migrationFS)
	if err != nil {
		t.Fatal(err)
	}
	return ms
}
