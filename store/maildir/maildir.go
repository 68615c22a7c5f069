package maildir

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/postern/postern/store/durable"
)

// File and directory modes: the mail belongs to the service user alone.
const (
	dirMode  os.FileMode = 0o700
	fileMode os.FileMode = 0o600
)

// FolderMarker is the empty file Maildir++ puts in every folder but INBOX.
const FolderMarker = "maildirfolder"

// subdirs of every Maildir.
var subdirs = [...]string{"tmp", "new", "cur"}

// ErrNoFolder is wrapped when a folder does not exist.
var ErrNoFolder = errors.New("maildir: no such folder")

// ErrExists is wrapped when creating or renaming onto an existing folder.
var ErrExists = errors.New("maildir: folder exists")

// Maildir is one user's Maildir++.
type Maildir struct {
	Root  string // the user's Maildir root, which is the INBOX
	Namer *Namer // the process's unique-name source
}

// Create makes root (and its parents) a Maildir: root/tmp, root/new and
// root/cur, every new directory entry fsynced. It is idempotent.
func Create(root string) error {
	return makeMaildir(root, false)
}

func makeMaildir(dir string, folder bool) error {
	if err := durable.MkdirAll(dir, dirMode); err != nil {
		return fmt.Errorf("maildir: create %s: %w", dir, err)
	}
	created := false
	for _, s := range subdirs {
		err := os.Mkdir(filepath.Join(dir, s), dirMode)
		if err != nil && !errors.Is(err, fs.ErrExist) {
			return fmt.Errorf("maildir: create: %w", err)
		}
		created = created || err == nil
	}
	if folder {
		marker := filepath.Join(dir, FolderMarker)
		f, err := os.OpenFile(marker, os.O_WRONLY|os.O_CREATE|os.O_EXCL, fileMode)
		if err == nil {
			created = true
			err = f.Close()
		}
		if err != nil && !errors.Is(err, fs.ErrExist) {
			return fmt.Errorf("maildir: create: %w", err)
		}
	}
	if created {
		return durable.SyncDir(dir)
	}
	return nil
}

// FolderDir returns the directory of folder name (see FolderDirName) without
// checking that it exists.
func (m *Maildir) FolderDir(name string) (string, error) {
	d, err := FolderDirName(name)
	if err != nil {
		return "", err
	}
	return filepath.Join(m.Root, d), nil
}

// EnsureFolder creates folder name (and the root, for INBOX) if it is missing
// and returns its directory. Parents in the hierarchy are not created: in
// Maildir++ ".A.B" does not need ".A".
func (m *Maildir) EnsureFolder(name string) (string, error) {
	dir, err := m.FolderDir(name)
	if err != nil {
		return "", err
	}
	if dir != filepath.Clean(m.Root) {
		if err := Create(m.Root); err != nil {
			return "", err
		}
	}
	if err := makeMaildir(dir, dir != filepath.Clean(m.Root)); err != nil {
		return "", err
	}
	return dir, nil
}

// FolderExists reports whether folder name exists (has a cur/ directory).
func (m *Maildir) FolderExists(name string) (bool, error) {
	dir, err := m.FolderDir(name)
	if err != nil {
		return false, err
	}
	fi, err := os.Stat(filepath.Join(dir, "cur"))
	if err == nil {
		return fi.IsDir(), nil
	}
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	return false, fmt.Errorf("maildir: %w", err)
}

// Folders lists the folders of the Maildir, INBOX first, then the others
// sorted by name. Directories that are not canonical folder directories
// (FolderName fails) are skipped.
func (m *Maildir) Folders() ([]string, error) {
	des, err := os.ReadDir(m.Root)
	if err != nil {
		return nil, fmt.Errorf("maildir: list folders: %w", err)
	}
	var names []string
	for _, de := range des {
		if !de.IsDir() || !strings.HasPrefix(de.Name(), ".") {
			continue
		}
		name, err := FolderName(de.Name())
		if err != nil {
			continue
		}
		names = append(names, name)
	}
	slices.Sort(names)
	return append([]string{Inbox}, names...), nil
}

// RenameFolder renames folder oldName, and every folder below it, to
// newName (RFC 3501 6.3.5). Renaming INBOX is refused here: IMAP gives it
// special meaning (move the messages, keep INBOX) that the caller implements.
func (m *Maildir) RenameFolder(oldName, newName string) error {
	oldDir, err := FolderDirName(oldName)
	if err != nil {
		return err
	}
	newDir, err := FolderDirName(newName)
	if err != nil {
		return err
	}
	if oldDir == "" || newDir == "" {
		return fmt.Errorf("maildir: rename: %w", badName(Inbox, "INBOX cannot be renamed here"))
	}
	if oldDir == newDir || strings.HasPrefix(newDir, oldDir+".") {
		return fmt.Errorf("maildir: rename %q to %q: %w", oldName, newName, ErrExists)
	}
	if _, err := os.Stat(filepath.Join(m.Root, oldDir)); err != nil {
		return fmt.Errorf("maildir: rename %q: %w: %w", oldName, ErrNoFolder, err)
	}
	des, err := os.ReadDir(m.Root)
	if err != nil {
		return fmt.Errorf("maildir: rename: %w", err)
	}
	moves := [][2]string{{oldDir, newDir}}
	for _, de := range des {
		if rest, ok := strings.CutPrefix(de.Name(), oldDir+"."); ok && de.IsDir() {
			moves = append(moves, [2]string{de.Name(), newDir + "." + rest})
		}
	}
	for _, mv := range moves {
		if len(mv[1]) > maxDirName {
			return badName(newName, "a subfolder's name would be too long")
		}
		if _, err := os.Lstat(filepath.Join(m.Root, mv[1])); err == nil {
			return fmt.Errorf("maildir: rename to %q: %w", newName, ErrExists)
		}
	}
	for _, mv := range moves {
		// os.Rename would replace an empty directory; the Lstat above
		// refuses that case, barring a race with another creator.
		if err := os.Rename(filepath.Join(m.Root, mv[0]), filepath.Join(m.Root, mv[1])); err != nil {
			return fmt.Errorf("maildir: rename: %w", err)
		}
	}
	return durable.SyncDir(m.Root)
}

// DeleteFolder removes folder name and all its messages (not its children,
// which are separate folders in Maildir++). The directory is first renamed
// to a hidden name, so a crash halfway through deletion never leaves a
// half-empty folder visible; Folders skips the hidden name. INBOX cannot be
// deleted (RFC 3501 6.3.4).
func (m *Maildir) DeleteFolder(name string) error {
	d, err := FolderDirName(name)
	if err != nil {
		return err
	}
	if d == "" {
		return badName(name, "INBOX cannot be deleted")
	}
	trash := filepath.Join(m.Root, "..deleted-"+m.Namer.Next())
	if err := durable.Rename(filepath.Join(m.Root, d), trash); err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("maildir: delete %q: %w: %w", name, ErrNoFolder, err)
		}
		return fmt.Errorf("maildir: delete %q: %w", name, err)
	}
	if err := os.RemoveAll(trash); err != nil {
		return fmt.Errorf("maildir: delete %q: %w", name, err)
	}
	return durable.SyncDir(m.Root)
}
