package durable

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
)

// File is a file being written that becomes visible under its final name only
// when Commit succeeds. It is not safe for concurrent use.
//
// A typical streaming write:
//
//	f, err := durable.CreateTemp(dir, ".tmp-*")
//	if err != nil { return err }
//	defer f.Abort() // no-op after a successful Commit
//	if _, err := io.Copy(f, r); err != nil { return err }
//	return f.Commit(filepath.Join(dir, "final"))
type File struct {
	f       *os.File
	name    string
	written int64
	sealed  bool // fsynced and closed
	done    bool // committed or aborted: the temporary name no longer belongs to us
}

// CreateTemp creates a new temporary file in dir, named like os.CreateTemp
// names it from pattern, with mode 0600. dir should be on the same file
// system as the final path given to Commit (the same directory is best).
func CreateTemp(dir, pattern string) (*File, error) {
	f, err := os.CreateTemp(dir, pattern)
	if err != nil {
		return nil, fmt.Errorf("durable: create temp in %s: %w", dir, err)
	}
	return &File{f: f, name: f.Name()}, nil
}

// CreateExcl creates the file at exactly path, failing if it exists
// (O_EXCL), with mode perm. It is for callers whose temporary names carry
// meaning, such as Maildir's tmp/<unique>.
func CreateExcl(path string, perm os.FileMode) (*File, error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_EXCL, perm)
	if err != nil {
		return nil, fmt.Errorf("durable: create %s: %w", path, err)
	}
	if err := f.Chmod(perm); err != nil {
		f.Close()
		os.Remove(path)
		return nil, fmt.Errorf("durable: chmod %s: %w", path, err)
	}
	return &File{f: f, name: path}, nil
}

// errSealed is returned when a write comes after Seal, Commit or Abort.
var errSealed = errors.New("durable: file already sealed")

// Name returns the temporary path of the file.
func (d *File) Name() string { return d.name }

// Written returns the number of bytes written so far.
func (d *File) Written() int64 { return d.written }

// Write appends p to the file.
func (d *File) Write(p []byte) (int, error) {
	if d.sealed || d.done {
		return 0, errSealed
	}
	n, err := d.f.Write(p)
	d.written += int64(n)
	if err != nil {
		return n, fmt.Errorf("durable: write %s: %w", d.name, err)
	}
	return n, nil
}

// ReadFrom copies r into the file until EOF. It lets io.Copy use the
// operating system's fast paths (copy_file_range, splice) when r allows.
func (d *File) ReadFrom(r io.Reader) (int64, error) {
	if d.sealed || d.done {
		return 0, errSealed
	}
	n, err := d.f.ReadFrom(r)
	d.written += n
	if err != nil {
		return n, fmt.Errorf("durable: write %s: %w", d.name, err)
	}
	return n, nil
}

// Chmod changes the mode of the file (temp files start at 0600).
func (d *File) Chmod(perm os.FileMode) error {
	if d.sealed || d.done {
		return errSealed
	}
	if err := d.f.Chmod(perm); err != nil {
		return fmt.Errorf("durable: chmod %s: %w", d.name, err)
	}
	return nil
}

// Seal fsyncs and closes the file but leaves it under its temporary name.
// After Seal the caller may hard-link the file elsewhere (as Maildir
// delivery does) and then Commit or Abort it. Seal is idempotent.
func (d *File) Seal() error {
	if d.done {
		return errSealed
	}
	if d.sealed {
		return nil
	}
	if err := d.f.Sync(); err != nil {
		return fmt.Errorf("durable: fsync %s: %w", d.name, err)
	}
	d.sealed = true
	if err := d.f.Close(); err != nil {
		return fmt.Errorf("durable: close %s: %w", d.name, err)
	}
	return nil
}

// Commit fsyncs and closes the file, renames it to finalPath (replacing any
// file there) and fsyncs finalPath's directory. On error the temporary file
// is removed and finalPath is untouched.
func (d *File) Commit(finalPath string) error {
	return d.commit(finalPath, SyncDir)
}

// CommitShared is Commit with the directory fsync shared through s (see DirSyncer):
// concurrent commits into one directory wait for one fsync. nil s means a plain fsync.
func (d *File) CommitShared(s *DirSyncer, finalPath string) error {
	if s == nil {
		return d.Commit(finalPath)
	}
	return d.commit(finalPath, s.Sync)
}

func (d *File) commit(finalPath string, syncDir func(dir string) error) error {
	if d.done {
		return errSealed
	}
	if err := d.Seal(); err != nil {
		d.Abort()
		return err
	}
	if err := os.Rename(d.name, finalPath); err != nil {
		d.Abort()
		return fmt.Errorf("durable: commit: %w", err)
	}
	d.done = true
	return syncDir(filepath.Dir(finalPath))
}

// Abort closes and removes the temporary file. It is a no-op after Commit or
// a previous Abort, so it is meant to be deferred right after creation.
// Errors are ignored: there is nothing a caller could do with them, and a
// leftover temporary file is harmless.
func (d *File) Abort() {
	if d.done {
		return
	}
	d.done = true
	if !d.sealed {
		d.sealed = true
		d.f.Close()
	}
	os.Remove(d.name)
}
