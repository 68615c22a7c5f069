package maildir

import (
	"fmt"
	"path/filepath"
)

// FlagRenamer changes the flags of many messages of one folder (IMAP STORE on a set)
// without the per-file directory fsync SetFlags does, and with the folder's
// dovecot-keywords read once rather than once per message.
//
// Why no fsync is safe here: a flag rename changes no message bytes; it moves one
// directory entry, which the file system journals atomically (the file is found under
// the old name or the new one, never neither and, on ext4/xfs/btrfs, never both). A
// crash before the journal commits (a few seconds at most) only loses the flag change:
// the file keeps its old name and flags, the index (already ahead) is repaired by the
// next rescan because the folder's mtime no longer matches. Dovecot does the same: it
// fsyncs message data, not flag renames.
type FlagRenamer struct {
	dir string
	kw  *Keywords
}

// NewFlagRenamer starts a batch in the folder directory dir (the one holding cur/ and
// new/). kw is the folder's keywords if the caller has them loaded, else nil.
func NewFlagRenamer(dir string, kw *Keywords) (*FlagRenamer, error) {
	if kw == nil {
		var err error
		if kw, err = LoadKeywords(dir); err != nil {
			return nil, err
		}
	}
	return &FlagRenamer{dir: dir, kw: kw}, nil
}

// Keywords returns the folder's keyword table as of the last rename.
func (r *FlagRenamer) Keywords() *Keywords { return r.kw }

// SetFlags is SetFlags for one message of the batch's folder, without fsync. A keyword
// the table does not know yet is added to dovecot-keywords (durably, under its lock).
func (r *FlagRenamer) SetFlags(path string, flags []string) (string, error) {
	folderDir, sub, name, err := splitMessagePath(path)
	if err != nil {
		return "", err
	}
	if filepath.Clean(folderDir) != filepath.Clean(r.dir) {
		return "", fmt.Errorf("%w: %s is not in %s", ErrNotMessage, path, r.dir)
	}
	letters, kws, err := splitFlags(flags)
	if err != nil {
		return "", err
	}
	for _, k := range kws {
		l, ok := r.kw.Letter(k)
		if !ok {
			if r.kw, err = EnsureKeywords(r.dir, kws); err != nil {
				return "", err
			}
			if l, ok = r.kw.Letter(k); !ok {
				return "", fmt.Errorf("maildir: keyword %q has no letter", k)
			}
		}
		letters = append(letters, l)
	}
	ls := sortLetters(letters)
	base, old := SplitInfo(name)
	newName := infoName(base, ls, false)
	if sub == "cur" && old == ls && newName == name {
		return path, nil
	}
	newPath := filepath.Join(r.dir, "cur", newName)
	if err := renameFile(path, newPath); err != nil {
		return "", fmt.Errorf("maildir: set flags: %w", err)
	}
	return newPath, nil
}
