package store

import (
	"context"
	"database/sql"
	"errors"
	"io"
	"log/slog"
	"path/filepath"
	"testing"
	"time"
)

// cheapArgon keeps tests fast; the code paths are the production ones.
var cheapArgon = Argon2Params{MemoryKiB: 64, Time: 1, Threads: 1}

func testOptions() Options {
	return Options{Argon2: cheapArgon, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}
}

func openAt(t testing.TB, path string) *Store {
	t.Helper()
	s, err := Open(context.Background(), path, testOptions())
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func openTest(t testing.TB) *Store {
	t.Helper()
	return openAt(t, filepath.Join(t.TempDir(), "postern.db"))
}

func mustDomain(t testing.TB, s *Store, name string) {
	t.Helper()
	if _, err := s.AddDomain(context.Background(), name); err != nil {
		t.Fatalf("AddDomain(%q): %v", name, err)
	}
}

func mustUser(t testing.TB, s *Store, addr, pw string) User {
	t.Helper()
	u, err := s.AddUser(context.Background(), addr, pw, UserOptions{})
	if err != nil {
		t.Fatalf("AddUser(%q): %v", addr, err)
	}
	return u
}

func wantErr(t testing.TB, err, target error) {
	t.Helper()
	if !errors.Is(err, target) {
		t.Fatalf("got error %v, want %v", err, target)
	}
}

// openAtVersion creates a database at path with only the first n migrations applied (as
// an older postern left it) and returns it open, with the number of migrations known.
func openAtVersion(t testing.TB, path string, n int) (*sql.DB, int) {
	t.Helper()
	db, err := sql.Open("sqlite", dsn(path, time.Second, true))
	if err != nil {
		t.Fatal(err)
	}
	ms, err := loadMigrations(migrationFS)
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range ms[:n] {
		if err := applyMigration(context.Background(), db, m); err != nil {
			t.Fatal(err)
		}
	}
	return db, len(ms)
}
