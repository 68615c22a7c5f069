package backup

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
)

// Named is a file or directory the config names (its key, such as "tls.key" or
// "relay.password_file", and its absolute path); "config" is the config file itself.
type Named struct{ Key, Path string }

// OutsideFile is a named file kept in a backup outside DIR/state.
type OutsideFile struct {
	Key    string      `json:"key"`
	Path   string      `json:"path"`   // where it was
	Stored string      `json:"stored"` // where it is, relative to the backup directory
	Mode   fs.FileMode `json:"mode"`
	UID    int         `json:"uid"`
	GID    int         `json:"gid"`
	Dir    bool        `json:"dir,omitempty"`
}

// ConfigKey names the config file itself among the Named files.
const ConfigKey = "config"

// outsideDir is where a backup keeps named files, under their absolute paths.
const outsideDir = "outside"

// takeOutside copies the named files that are not under stateDir into dest/outside,
// modes kept; one that is missing is listed in m.Skipped.
func takeOutside(ctx context.Context, stateDir, dest string, named []Named, m *Manifest) error {
	stored := map[string]OutsideFile{}
	for _, n := range named {
		p := filepath.Clean(n.Path)
		if within(stateDir, p) {
			continue // in the state directory's backup already
		}
		if f, ok := stored[p]; ok {
			f.Key = n.Key
			m.Outside = append(m.Outside, f)
			continue
		}
		fi, err := os.Stat(p)
		if errors.Is(err, fs.ErrNotExist) {
			m.Skipped = append(m.Skipped, fmt.Sprintf("%s = %s (not found)", n.Key, p))
			continue
		}
		if err != nil {
			return fmt.Errorf("backup: %s: %w", n.Key, err)
		}
		f := OutsideFile{Key: n.Key, Path: p, Stored: filepath.Join(outsideDir, strings.TrimPrefix(p, "/")), Mode: fi.Mode().Perm(), Dir: fi.IsDir()}
		if st, ok := fi.Sys().(*syscall.Stat_t); ok {
			f.UID, f.GID = int(st.Uid), int(st.Gid)
		}
		to := filepath.Join(dest, f.Stored)
		if err := os.MkdirAll(filepath.Dir(to), 0o700); err != nil {
			return fmt.Errorf("backup: %w", err)
		}
		if err := copyNamed(ctx, p, to, fi, m); err != nil {
			return fmt.Errorf("backup: %s %s: %w", n.Key, p, err)
		}
		stored[p] = f
		m.Outside = append(m.Outside, f)
	}
	return nil
}

// copyNamed copies a named file, or a named directory's tree, modes kept.
func copyNamed(ctx context.Context, from, to string, fi fs.FileInfo, m *Manifest) error {
	if !fi.IsDir() {
		m.Files++
		m.Bytes += fi.Size()
		return copyFile(from, to, fi)
	}
	if err := os.MkdirAll(to, 0o700); err != nil {
		return err
	}
	if err := mirror(ctx, from, to, nil, m); err != nil {
		return err
	}
	return os.Chmod(to, fi.Mode().Perm())
}

// within reports whether p is dir or below it.
func within(dir, p string) bool {
	rel, err := filepath.Rel(filepath.Clean(dir), p)
	return err == nil && rel != ".." && !strings.HasPrefix(rel, "../")
}

// RestoreOutside puts the named files of the backup in dir back: each where targets
// (the current config's key -> path) says, when nothing is there yet, with its mode; a
// file already there and the same is left; otherwise (there and different, or a key
// the config no longer names) the copy goes under spill, to compare. owner, when its
// uid is >= 0 (restore runs as root), is the service user: files root owned stay
// root's (keeping a group of root's), others are given to owner, since uids differ
// between machines. It returns one line per file saying what it did.
func RestoreOutside(ctx context.Context, dir string, m Manifest, targets map[string]string, spill string, owner [2]int) ([]string, error) {
	var lines []string
	for _, f := range m.Outside {
		src := filepath.Join(dir, f.Stored)
		target, named := targets[f.Key]
		why := fmt.Sprintf("the config no longer names %s", f.Key)
		switch {
		case !named:
		case !exists(target):
			err := putBack(ctx, src, target, f, owner)
			if err == nil {
				lines = append(lines, fmt.Sprintf("%s: restored %s (mode %04o)", f.Key, target, f.Mode))
				continue
			}
			os.RemoveAll(target)
			why = fmt.Sprintf("%s could not be written (%v)", target, err)
		case !f.Dir && sameContent(src, target):
			lines = append(lines, fmt.Sprintf("%s: %s is as backed up", f.Key, target))
			continue
		default:
			why = fmt.Sprintf("%s exists and differs", target)
		}
		to := filepath.Join(spill, f.Key, filepath.Base(f.Path))
		if exists(to) {
			continue // a second key for the same file
		}
		if err := putBack(ctx, src, to, f, owner); err != nil {
			return lines, fmt.Errorf("restore %s to %s: %w", f.Key, to, err)
		}
		lines = append(lines, fmt.Sprintf("%s: %s; the backed-up %s is in %s: compare", f.Key, why, f.Path, to))
	}
	return lines, nil
}

// putBack copies src (a file or a tree) to to, with f's mode and owner.
func putBack(ctx context.Context, src, to string, f OutsideFile, owner [2]int) error {
	if err := os.MkdirAll(filepath.Dir(to), 0o755); err != nil {
		return err
	}
	fi, err := os.Stat(src)
	if err != nil {
		return err
	}
	var m Manifest
	if err := copyNamed(ctx, src, to, fi, &m); err != nil {
		return err
	}
	if err := os.Chmod(to, f.Mode); err != nil {
		return err
	}
	if owner[0] < 0 {
		return nil
	}
	uid, gid := owner[0], owner[1]
	if f.UID == 0 {
		uid = 0
		if f.GID == 0 {
			gid = 0
		}
	}
	return filepath.WalkDir(to, func(p string, _ fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		return os.Lchown(p, uid, gid)
	})
}

func exists(p string) bool {
	_, err := os.Lstat(p)
	return err == nil
}

// sameContent reports whether two files hold the same bytes (named files are small;
// past 16 MiB they are taken to differ).
func sameContent(a, b string) bool {
	fa, errA := os.Stat(a)
	fb, errB := os.Stat(b)
	if errA != nil || errB != nil || fa.Size() != fb.Size() || fa.Size() > 16<<20 || !fb.Mode().IsRegular() {
		return false
	}
	da, errA := os.ReadFile(a)
	db, errB := os.ReadFile(b)
	return errA == nil && errB == nil && bytes.Equal(da, db)
}
