package maildir

import (
	"cmp"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Entry is one message found by Scan.
type Entry struct {
	Base    string    // the unique part with size fields; stable across flag changes
	Name    string    // the file name in new/ or cur/
	Path    string    // the full path
	New     bool      // the file is in new/ (not yet seen by any IMAP session)
	Flags   []string  // IMAP flags and keywords
	Size    int64     // S= from the name, or the file size
	VSize   int64     // W= from the name, or -1 when the name has none
	ModTime time.Time // the INTERNALDATE
}

// Scan lists the messages of the folder at folderDir: the files of new/ and
// cur/ (dot files and non-regular files are skipped), with flags resolved
// through the folder's dovecot-keywords. Entries are ordered by the delivery
// time in their names, then by name, which is the order a reindex should
// assign UIDs in. A file renamed while the folder is read can be missed; a
// caller that needs exactness holds its own lock or rescans.
func Scan(folderDir string) ([]Entry, error) {
	kw, err := LoadKeywords(folderDir)
	if err != nil {
		return nil, err
	}
	var out []Entry
	for _, sub := range []string{"new", "cur"} {
		dir := filepath.Join(folderDir, sub)
		des, err := os.ReadDir(dir)
		if err != nil {
			return nil, fmt.Errorf("maildir: scan: %w", err)
		}
		for _, de := range des {
			e, ok, err := entryFor(dir, de, kw)
			if err != nil {
				return nil, err
			}
			if ok {
				e.New = sub == "new"
				out = append(out, e)
			}
		}
	}
	slices.SortFunc(out, func(a, b Entry) int {
		return cmp.Or(cmp.Compare(leadingSecs(a.Base), leadingSecs(b.Base)), strings.Compare(a.Base, b.Base))
	})
	return out, nil
}

func entryFor(dir string, de fs.DirEntry, kw *Keywords) (Entry, bool, error) {
	name := de.Name()
	if strings.HasPrefix(name, ".") || !de.Type().IsRegular() {
		return Entry{}, false, nil
	}
	fi, err := de.Info()
	if errors.Is(err, fs.ErrNotExist) {
		return Entry{}, false, nil // renamed or expunged since ReadDir
	}
	if err != nil {
		return Entry{}, false, fmt.Errorf("maildir: scan: %w", err)
	}
	base, flags := ParseInfo(name, kw)
	size, vsize := SizeFields(name)
	if size < 0 {
		size = fi.Size()
	}
	return Entry{
		Base: base, Name: name, Path: filepath.Join(dir, name),
		Flags: flags, Size: size, VSize: vsize, ModTime: fi.ModTime(),
	}, true, nil
}

// leadingSecs is the delivery time at the start of a Maildir name, or 0.
func leadingSecs(base string) int64 {
	end := strings.IndexFunc(base, func(r rune) bool { return r < '0' || r > '9' })
	if end < 0 {
		end = len(base)
	}
	n, _ := strconv.ParseInt(base[:end], 10, 64)
	return n
}

// TmpMaxAge is how long a file may stay in tmp/ before CleanTmp removes it:
// the Maildir convention is 36 hours, far longer than any delivery takes.
const TmpMaxAge = 36 * time.Hour

// CleanTmp removes the files in folderDir/tmp/ last modified more than
// TmpMaxAge before now, left there by deliveries that crashed, and returns
// how many it removed.
func CleanTmp(folderDir string, now time.Time) (int, error) {
	dir := filepath.Join(folderDir, "tmp")
	des, err := os.ReadDir(dir)
	if err != nil {
		return 0, fmt.Errorf("maildir: clean tmp: %w", err)
	}
	removed := 0
	for _, de := range des {
		if !de.Type().IsRegular() {
			continue
		}
		fi, err := de.Info()
		if err != nil || now.Sub(fi.ModTime()) <= TmpMaxAge {
			continue
		}
		if err := os.Remove(filepath.Join(dir, de.Name())); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return removed, fmt.Errorf("maildir: clean tmp: %w", err)
		}
		removed++
	}
	return removed, nil
}
