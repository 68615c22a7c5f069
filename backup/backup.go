package backup

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/postern/postern/store"
	"github.com/postern/postern/store/durable"
)

// ManifestFile marks a complete backup.
const ManifestFile = "backup.json"

// Manifest describes a backup.
type Manifest struct {
	Format  int       `json:"format"`
	Created time.Time `json:"created"`
	Schema  int       `json:"schema"`
	Files   int       `json:"files"`  // files besides the database
	Linked  int       `json:"linked"` // of which hard-linked
	Bytes   int64     `json:"bytes"`  // their total size
	DBBytes int64     `json:"db_bytes"`
	Seconds float64   `json:"seconds"`
	Skipped []string  `json:"skipped,omitempty"` // files that vanished while walking
	// Counters are every mailbox's UIDNEXT and HIGHESTMODSEQ at the end of the backup:
	// restore raises the restored mailboxes to them before indexing the files delivered
	// during the backup, so no UID a client saw then is given to other mail.
	Counters []store.MailboxCounter `json:"counters"`
	// Outside are the files the config names outside the state directory (TLS
	// certificate and key, password files, the config itself...), kept under
	// DIR/outside with their paths, modes and owners.
	Outside []OutsideFile `json:"outside,omitempty"`
}

// formatVersion is the layout of a backup directory.
const formatVersion = 1

// DB is the store's snapshot function.
type DB interface {
	Snapshot(ctx context.Context, path string) error
	SchemaVersion() int
	MailboxCounters(ctx context.Context) ([]store.MailboxCounter, error)
}

// dbName is the database's file name inside the state directory.
const dbName = "postern.db"

// skipState are state-directory entries a backup leaves out: the live database (its
// snapshot is taken instead), the lock and the running marker of this daemon.
var skipState = map[string]bool{dbName: true, dbName + "-wal": true, dbName + "-shm": true, "postern.lock": true, "postern.running": true}

// Take backs up stateDir into dest, which must be missing or empty, and the named
// files that are not in stateDir.
func Take(ctx context.Context, db DB, stateDir, dest string, named []Named) (Manifest, error) {
	start := time.Now()
	m := Manifest{Format: formatVersion, Created: start.UTC(), Schema: db.SchemaVersion()}
	if err := emptyDir(dest); err != nil {
		return m, err
	}
	out := filepath.Join(dest, "state")
	if err := os.MkdirAll(out, 0o700); err != nil {
		return m, fmt.Errorf("backup: %w", err)
	}
	dbCopy := filepath.Join(out, dbName)
	if err := db.Snapshot(ctx, dbCopy); err != nil {
		return m, fmt.Errorf("backup: database: %w", err)
	}
	if fi, err := os.Stat(dbCopy); err == nil {
		m.DBBytes = fi.Size()
	}
	if err := mirror(ctx, stateDir, out, skipState, &m); err != nil {
		return m, err
	}
	if err := takeOutside(ctx, stateDir, dest, named, &m); err != nil {
		return m, err
	}
	var err error
	if m.Counters, err = db.MailboxCounters(ctx); err != nil {
		return m, fmt.Errorf("backup: %w", err)
	}
	m.Seconds = time.Since(start).Seconds()
	data, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return m, err
	}
	if err := durable.WriteFile(filepath.Join(dest, ManifestFile), append(data, '\n'), 0o600); err != nil {
		return m, fmt.Errorf("backup: %w", err)
	}
	return m, nil
}

// emptyDir makes sure dir exists and has nothing in it.
func emptyDir(dir string) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("backup: %w", err)
	}
	des, err := os.ReadDir(dir)
	if err != nil {
		return fmt.Errorf("backup: %w", err)
	}
	if len(des) > 0 {
		return fmt.Errorf("backup: %s is not empty", dir)
	}
	return nil
}

// isMessage reports whether rel (relative to the state directory) is a Maildir
// message file, which is never rewritten in place and so may be hard-linked.
func isMessage(rel string) bool {
	parts := strings.Split(filepath.ToSlash(rel), "/")
	if len(parts) < 2 || parts[0] != "mail" {
		return false
	}
	sub := parts[len(parts)-2]
	return sub == "cur" || sub == "new"
}

// mirror recreates src's tree under dst: message files linked, others copied, each
// directory fsynced once it is filled. Files that vanish meanwhile are listed, not
// fatal: a message expunged during the backup.
func mirror(ctx context.Context, src, dst string, skip map[string]bool, m *Manifest) error {
	var dirs []string
	err := filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return nil
			}
			return err
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		if rel == "." {
			return nil
		}
		if filepath.Dir(rel) == "." && skip[rel] {
			return nil
		}
		to := filepath.Join(dst, rel)
		switch {
		case d.IsDir():
			fi, err := d.Info()
			if err != nil {
				return err
			}
			dirs = append(dirs, to)
			if err := os.MkdirAll(to, 0o700); err != nil {
				return err
			}
			return os.Chmod(to, fi.Mode().Perm()|0o700) // the mode as it was, not as umask left it
		case !d.Type().IsRegular():
			return nil
		}
		linked, size, err := place(p, to, isMessage(rel))
		if errors.Is(err, fs.ErrNotExist) {
			m.Skipped = append(m.Skipped, rel)
			return nil
		}
		if err != nil {
			return err
		}
		m.Files++
		m.Bytes += size
		if linked {
			m.Linked++
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("backup: %w", err)
	}
	for _, d := range dirs {
		if err := durable.SyncDir(d); err != nil {
			return err
		}
	}
	return durable.SyncDir(dst)
}

// place links (when mayLink) or copies from to to.
func place(from, to string, mayLink bool) (linked bool, size int64, err error) {
	fi, err := os.Stat(from)
	if err != nil {
		return false, 0, err
	}
	if mayLink {
		if err := os.Link(from, to); err == nil {
			return true, fi.Size(), nil
		} else if errors.Is(err, fs.ErrNotExist) {
			return false, 0, err
		}
	}
	return false, fi.Size(), copyFile(from, to, fi)
}

func copyFile(from, to string, fi fs.FileInfo) error {
	in, err := os.Open(from)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(to, os.O_WRONLY|os.O_CREATE|os.O_EXCL, fi.Mode().Perm())
	if err != nil {
		return err
	}
	if err := out.Chmod(fi.Mode().Perm()); err != nil { // umask may have taken bits off
		out.Close()
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	if err := out.Sync(); err != nil {
		out.Close()
		return err
	}
	if err := out.Close(); err != nil {
		return err
	}
	return os.Chtimes(to, fi.ModTime(), fi.ModTime())
}

// ReadManifest reads a backup's manifest; a directory without one is not a complete
// backup.
func ReadManifest(dir string) (Manifest, error) {
	var m Manifest
	data, err := os.ReadFile(filepath.Join(dir, ManifestFile))
	if err != nil {
		return m, fmt.Errorf("backup: %s is not a complete backup (no %s): %w", dir, ManifestFile, err)
	}
	if err := json.Unmarshal(data, &m); err != nil {
		return m, fmt.Errorf("backup: %s: %w", ManifestFile, err)
	}
	if m.Format != formatVersion {
		return m, fmt.Errorf("backup: format %d, this postern reads %d", m.Format, formatVersion)
	}
	return m, nil
}

// Restore copies the backup in dir into stateDir, which must be missing or empty
// (nothing but the lock file the caller holds). The database is copied (the backup
// stays as it was); message files are hard-linked where possible.
func Restore(ctx context.Context, dir, stateDir string) (Manifest, error) {
	m, err := ReadManifest(dir)
	if err != nil {
		return m, err
	}
	des, err := os.ReadDir(stateDir)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return m, fmt.Errorf("restore: %w", err)
	}
	for _, de := range des {
		if de.Name() != "postern.lock" {
			return m, fmt.Errorf("restore: the state directory %s is not empty (%s); restore only into an empty one", stateDir, de.Name())
		}
	}
	var r Manifest
	if err := mirror(ctx, filepath.Join(dir, "state"), stateDir, map[string]bool{"postern.lock": true}, &r); err != nil {
		return m, fmt.Errorf("restore: %w", err)
	}
	if _, err := os.Stat(filepath.Join(stateDir, dbName)); err != nil {
		return m, fmt.Errorf("restore: the backup has no database: %w", err)
	}
	return m, nil
}
