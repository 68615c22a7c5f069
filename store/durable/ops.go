package durable

import (
	"fmt"
	"os"
	"path/filepath"
)

// WriteFile writes data to path atomically and durably: a temporary file in
// the same directory is written, fsynced, given mode perm, renamed over path,
// and the directory is fsynced. Readers see the old content or the new one.
func WriteFile(path string, data []byte, perm os.FileMode) error {
	f, err := CreateTemp(filepath.Dir(path), ".tmp-"+filepath.Base(path)+"-*")
	if err != nil {
		return err
	}
	defer f.Abort()
	if _, err := f.Write(data); err != nil {
		return err
	}
	if err := f.Chmod(perm); err != nil {
		return err
	}
	return f.Commit(path)
}

// SyncDir fsyncs the directory dir, making the creation, removal or renaming
// of its entries durable (fsync(2) on a file does not cover its directory
// entry).
func SyncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("durable: sync dir: %w", err)
	}
	err = d.Sync()
	cerr := d.Close()
	if err != nil {
		return fmt.Errorf("durable: fsync dir %s: %w", dir, err)
	}
	if cerr != nil {
		return fmt.Errorf("durable: close dir %s: %w", dir, cerr)
	}
	return nil
}

// Link creates newname as a hard link to oldname and fsyncs newname's
// directory. oldname must already be durable (fsynced) for the link to be.
func Link(oldname, newname string) error {
	if err := linkOnly(oldname, newname); err != nil {
		return err
	}
	return SyncDir(dirOf(newname))
}

func linkOnly(oldname, newname string) error {
	if err := os.Link(oldname, newname); err != nil {
		return fmt.Errorf("durable: %w", err)
	}
	return nil
}

func dirOf(path string) string { return filepath.Dir(path) }

// Rename renames oldpath to newpath and fsyncs newpath's directory, and also
// oldpath's directory when it differs, so that after a crash the file is not
// found under both names on file systems that do not journal renames as one
// transaction.
func Rename(oldpath, newpath string) error {
	if err := os.Rename(oldpath, newpath); err != nil {
		return fmt.Errorf("durable: %w", err)
	}
	newDir, oldDir := filepath.Dir(newpath), filepath.Dir(oldpath)
	if err := SyncDir(newDir); err != nil {
		return err
	}
	if oldDir != newDir {
		return SyncDir(oldDir)
	}
	return nil
}

// Remove removes path and fsyncs its directory, so the removal survives a
// crash (an expunged message must not come back).
func Remove(path string) error {
	if err := os.Remove(path); err != nil {
		return fmt.Errorf("durable: %w", err)
	}
	return SyncDir(filepath.Dir(path))
}

// MkdirAll creates dir and any missing parents with mode perm, fsyncing the
// parent of every directory it creates so the new entries are durable.
// Existing directories are left alone. The umask applies to perm, as with
// os.Mkdir.
func MkdirAll(dir string, perm os.FileMode) error {
	dir = filepath.Clean(dir)
	if fi, err := os.Stat(dir); err == nil {
		if !fi.IsDir() {
			return fmt.Errorf("durable: mkdir %s: not a directory", dir)
		}
		return nil
	}
	parent := filepath.Dir(dir)
	if parent != dir {
		if err := MkdirAll(parent, perm); err != nil {
			return err
		}
	}
	if err := os.Mkdir(dir, perm); err != nil {
		if !os.IsExist(err) {
			return fmt.Errorf("durable: %w", err)
		}
		// Created concurrently: sync anyway, we may return before its creator does.
	}
	return SyncDir(parent)
}
