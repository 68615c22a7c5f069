package durable

import (
	"bytes"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func entries(t *testing.T, dir string) []string {
	t.Helper()
	des, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, de := range des {
		names = append(names, de.Name())
	}
	return names
}

func TestWriteFileCreatesAndReplaces(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	p := filepath.Join(dir, "f")
	if err := WriteFile(p, []byte("one"), 0o640); err != nil {
		t.Fatal(err)
	}
	if err := WriteFile(p, []byte("two"), 0o600); err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(p)
	if err != nil || string(got) != "two" {
		t.Fatalf("content = %q, %v", got, err)
	}
	fi, _ := os.Stat(p)
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("mode = %v, want 0600", fi.Mode().Perm())
	}
	if names := entries(t, dir); len(names) != 1 {
		t.Errorf("leftover files: %v", names)
	}
}

func TestWriteFilePermIgnoresUmask(t *testing.T) {
	t.Parallel()
	p := filepath.Join(t.TempDir(), "f")
	if err := WriteFile(p, nil, 0o666); err != nil {
		t.Fatal(err)
	}
	fi, _ := os.Stat(p)
	if fi.Mode().Perm() != 0o666 {
		t.Errorf("mode = %v, want 0666", fi.Mode().Perm())
	}
}

func TestWriteFileMissingDir(t *testing.T) {
	t.Parallel()
	err := WriteFile(filepath.Join(t.TempDir(), "nope", "f"), []byte("x"), 0o600)
	if !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("err = %v, want ErrNotExist", err)
	}
}

func TestWriteFileOntoDirectoryFailsCleanly(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	if err := os.Mkdir(filepath.Join(dir, "d"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "d", "x"), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	// rename(2) of a file over a non-empty directory fails.
	if err := WriteFile(filepath.Join(dir, "d"), []byte("x"), 0o600); err == nil {
		t.Fatal("WriteFile over a directory succeeded")
	}
	if names := entries(t, dir); len(names) != 1 || names[0] != "d" {
		t.Errorf("leftover temp files: %v", names)
	}
}

func TestCommitStreams(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	f, err := CreateTemp(dir, ".tmp-*")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Abort()
	if _, err := f.Write([]byte("head ")); err != nil {
		t.Fatal(err)
	}
	if _, err := f.ReadFrom(strings.NewReader("body")); err != nil {
		t.Fatal(err)
	}
	if f.Written() != 9 {
		t.Errorf("Written = %d, want 9", f.Written())
	}
	final := filepath.Join(dir, "final")
	if err := f.Commit(final); err != nil {
		t.Fatal(err)
	}
	f.Abort() // must not remove the committed file
	got, err := os.ReadFile(final)
	if err != nil || string(got) != "head body" {
		t.Fatalf("content = %q, %v", got, err)
	}
	if names := entries(t, dir); len(names) != 1 {
		t.Errorf("leftover files: %v", names)
	}
	if _, err := f.Write([]byte("x")); err == nil {
		t.Error("Write after Commit succeeded")
	}
	if err := f.Commit(final); err == nil {
		t.Error("second Commit succeeded")
	}
}

func TestAbortRemovesTemp(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	f, err := CreateTemp(dir, ".tmp-*")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.Write([]byte("partial")); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(f.Name()); err != nil {
		t.Fatalf("temp file not there before Abort: %v", err)
	}
	f.Abort()
	f.Abort() // idempotent
	if names := entries(t, dir); len(names) != 0 {
		t.Errorf("Abort left %v", names)
	}
}

func TestAbortAfterSealRemovesTemp(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	f, err := CreateExcl(filepath.Join(dir, "x"), 0o600)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Seal(); err != nil {
		t.Fatal(err)
	}
	if err := f.Seal(); err != nil {
		t.Fatalf("second Seal: %v", err)
	}
	f.Abort()
	if names := entries(t, dir); len(names) != 0 {
		t.Errorf("Abort left %v", names)
	}
}

func TestCommitIntoMissingDirRemovesTemp(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	f, err := CreateTemp(dir, ".tmp-*")
	if err != nil {
		t.Fatal(err)
	}
	err = f.Commit(filepath.Join(dir, "missing", "final"))
	if !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("err = %v, want ErrNotExist", err)
	}
	if names := entries(t, dir); len(names) != 0 {
		t.Errorf("failed Commit left %v", names)
	}
}

func TestCreateTempMissingDir(t *testing.T) {
	t.Parallel()
	_, err := CreateTemp(filepath.Join(t.TempDir(), "nope"), "x*")
	if !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("err = %v, want ErrNotExist", err)
	}
}

func TestCreateExclRefusesExisting(t *testing.T) {
	t.Parallel()
	p := filepath.Join(t.TempDir(), "x")
	if err := os.WriteFile(p, []byte("keep"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := CreateExcl(p, 0o600); !errors.Is(err, fs.ErrExist) {
		t.Fatalf("err = %v, want ErrExist", err)
	}
	got, _ := os.ReadFile(p)
	if string(got) != "keep" {
		t.Errorf("existing file clobbered: %q", got)
	}
}

func TestLinkRenameRemove(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	a := filepath.Join(dir, "a")
	if err := WriteFile(a, []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	sub := filepath.Join(dir, "sub")
	if err := MkdirAll(sub, 0o700); err != nil {
		t.Fatal(err)
	}
	b := filepath.Join(sub, "b")
	if err := Link(a, b); err != nil {
		t.Fatal(err)
	}
	fa, _ := os.Stat(a)
	fb, _ := os.Stat(b)
	if !os.SameFile(fa, fb) {
		t.Error("Link did not make a hard link")
	}
	if err := Link(a, b); !errors.Is(err, fs.ErrExist) {
		t.Errorf("Link onto existing: err = %v, want ErrExist", err)
	}
	c := filepath.Join(dir, "c")
	if err := Rename(b, c); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(b); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("old name still there: %v", err)
	}
	if err := Remove(c); err != nil {
		t.Fatal(err)
	}
	if err := Remove(c); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("Remove missing: err = %v, want ErrNotExist", err)
	}
	if err := Rename(c, a); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("Rename missing: err = %v, want ErrNotExist", err)
	}
}

func TestSyncDirMissing(t *testing.T) {
	t.Parallel()
	if err := SyncDir(filepath.Join(t.TempDir(), "nope")); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("err = %v, want ErrNotExist", err)
	}
}

func TestMkdirAll(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	deep := filepath.Join(dir, "a", "b", "c")
	if err := MkdirAll(deep, 0o700); err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(deep); err != nil || !fi.IsDir() {
		t.Fatalf("not created: %v", err)
	}
	if err := MkdirAll(deep, 0o700); err != nil {
		t.Fatalf("second MkdirAll: %v", err)
	}
	file := filepath.Join(dir, "file")
	if err := os.WriteFile(file, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := MkdirAll(filepath.Join(file, "x"), 0o700); err == nil {
		t.Error("MkdirAll under a regular file succeeded")
	}
	if err := MkdirAll(file, 0o700); err == nil {
		t.Error("MkdirAll on a regular file succeeded")
	}
}

func BenchmarkWriteFile4K(b *testing.B) {
	dir := b.TempDir()
	data := bytes.Repeat([]byte("x"), 4096)
	p := filepath.Join(dir, "f")
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		if err := WriteFile(p, data, 0o600); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkCommit4K(b *testing.B) {
	dir := b.TempDir()
	data := bytes.Repeat([]byte("x"), 4096)
	p := filepath.Join(dir, "f")
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		f, err := CreateTemp(dir, ".tmp-*")
		if err != nil {
			b.Fatal(err)
		}
		if _, err := f.Write(data); err != nil {
			b.Fatal(err)
		}
		if err := f.Commit(p); err != nil {
			b.Fatal(err)
		}
	}
}
