package store

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

func TestLockDirRefusesSecondHolder(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	l, err := LockDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(dir, LockFileName))
	if err != nil || strings.TrimSpace(string(b)) != strconv.Itoa(os.Getpid()) {
		t.Fatalf("lock file holds %q, %v; want our pid", b, err)
	}

	_, err = LockDir(dir)
	want := "another postern is already running on state dir " + dir + " (pid " + strconv.Itoa(os.Getpid()) + ")"
	if err == nil || err.Error() != want {
		t.Fatalf("second LockDir: %v; want %q", err, want)
	}
	// The refused attempt must not have clobbered the holder's pid.
	if b2, _ := os.ReadFile(filepath.Join(dir, LockFileName)); string(b2) != string(b) {
		t.Fatalf("lock file changed by the refused holder: %q -> %q", b, b2)
	}

	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	if err := l.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	l2, err := LockDir(dir)
	if err != nil {
		t.Fatalf("LockDir after release: %v", err)
	}
	l2.Close()
}

func TestLockDirMissingDirectory(t *testing.T) {
	t.Parallel()
	if _, err := LockDir(filepath.Join(t.TempDir(), "missing")); err == nil {
		t.Fatal("LockDir on a missing directory succeeded")
	}
}
