package maildir

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/postern/postern/store/durable"
)

// ErrNotMessage is wrapped when a path is not a message file in a new/ or
// cur/ directory.
var ErrNotMessage = errors.New("maildir: not a message path")

// splitMessagePath returns the folder directory, the subdirectory ("new" or
// "cur") and the file name of a message path.
func splitMessagePath(path string) (folderDir, sub, name string, err error) {
	name = filepath.Base(path)
	subDir := filepath.Dir(path)
	sub = filepath.Base(subDir)
	if (sub != "new" && sub != "cur") || name == "" || name[0] == '.' {
		return "", "", "", fmt.Errorf("%w: %s", ErrNotMessage, path)
	}
	return filepath.Dir(subDir), sub, name, nil
}

// SetFlags replaces the flags of the message at path (in new/ or cur/) with
// flags, IMAP system flags and keywords (keywords get letters in the
// folder's dovecot-keywords). The file is renamed into cur/ with the new
// ":2," info, which also moves a message out of new/ as IMAP clients expect
// once it has been seen by a session; \Recent is ignored. It returns the new
// path (path itself when nothing changed). If the file is gone, perhaps
// renamed by another process, the error wraps fs.ErrNotExist and the caller
// should rescan the folder.
func SetFlags(path string, flags []string) (string, error) {
	folderDir, sub, name, err := splitMessagePath(path)
	if err != nil {
		return "", err
	}
	letters, err := flagLetters(folderDir, flags)
	if err != nil {
		return "", err
	}
	base, old := SplitInfo(name)
	newName := infoName(base, letters, false)
	if sub == "cur" && old == letters && newName == name {
		return path, nil
	}
	newPath := filepath.Join(folderDir, "cur", newName)
	if err := durable.Rename(path, newPath); err != nil {
		return "", fmt.Errorf("maildir: set flags: %w", err)
	}
	return newPath, nil
}

// Remove deletes a message file durably (IMAP EXPUNGE).
func Remove(path string) error {
	if _, _, _, err := splitMessagePath(path); err != nil {
		return err
	}
	if err := durable.Remove(path); err != nil {
		return fmt.Errorf("maildir: remove: %w", err)
	}
	return nil
}

// Copy puts a copy of the message at srcPath into folder with flags (IMAP
// COPY): a hard link under a new unique name in cur/ (new/ when flags is
// empty), or a real copy across file systems. The INTERNALDATE (mtime) is
// kept.
func (m *Maildir) Copy(srcPath, folder string, flags []string) (Delivered, error) {
	if _, _, _, err := splitMessagePath(srcPath); err != nil {
		return Delivered{}, err
	}
	plans, err := planTargets([]Target{{Root: m.Root, Folder: folder, Flags: flags}})
	if err != nil {
		return Delivered{}, err
	}
	p := plans[0]
	size, vsize := SizeFields(filepath.Base(srcPath))
	if size < 0 {
		fi, err := os.Stat(srcPath)
		if err != nil {
			return Delivered{}, fmt.Errorf("maildir: copy: %w", err)
		}
		size = fi.Size()
	}
	unique := m.Namer.Next()
	name := infoName(withSizes(unique, size, vsize), p.letters, len(flags) == 0)
	sub := "cur"
	if len(flags) == 0 {
		sub = "new"
	}
	dst := filepath.Join(p.dir, sub, name)
	if err := linkOrCopy(&m.Namer.dirs, srcPath, dst, p.dir, unique); err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return Delivered{}, fmt.Errorf("maildir: copy %s: %w", srcPath, err)
		}
		return Delivered{}, fmt.Errorf("maildir: copy: %w", err)
	}
	return Delivered{
		Root: m.Root, Folder: p.t.Folder, Dir: p.dir,
		Name: name, Path: dst, Size: size, VSize: vsize,
	}, nil
}
