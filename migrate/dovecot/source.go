package dovecot

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/postern/postern/store/maildir"
)

// SourceFolder is one folder of a Dovecot Maildir++ as read from disk.
type SourceFolder struct {
	Name        string // Postern name ('/' separated UTF-8); INBOX for the root
	Dir         string
	UIDValidity uint32
	UIDNext     uint32
	Messages    []SourceMessage
	// Unlisted counts messages the uidlist did not know (delivered after Dovecot last
	// looked); they get UIDs from UIDNext on, which no client can have seen.
	Unlisted int
	// NoUIDList says the folder had no dovecot-uidlist: Dovecot never opened it, so no
	// client holds its UIDs; it gets a new UIDVALIDITY.
	NoUIDList bool
}

// SourceMessage is one message file with the UID Dovecot gave it.
type SourceMessage struct {
	UID   uint32
	Entry maildir.Entry // Base, Path, New, Flags (keywords resolved), ModTime
	Size  int64         // RFC822.SIZE: W= from the name, or counted from the file
}

// FolderDirs lists the folder directories of the Maildir++ at root: "" (INBOX) first,
// then every ".Name" directory with a cur/ subdirectory, by Postern name. Directories
// whose names do not decode are returned in bad.
func FolderDirs(root string) (folders []SourceFolderDir, bad []string, err error) {
	des, err := os.ReadDir(root)
	if err != nil {
		return nil, nil, fmt.Errorf("read %s: %w", root, err)
	}
	folders = append(folders, SourceFolderDir{Name: maildir.Inbox, Dir: root})
	for _, de := range des {
		if !de.IsDir() || !strings.HasPrefix(de.Name(), ".") || de.Name() == "." || de.Name() == ".." {
			continue
		}
		dir := filepath.Join(root, de.Name())
		if fi, err := os.Stat(filepath.Join(dir, "cur")); err != nil || !fi.IsDir() {
			continue
		}
		name, err := maildir.FolderName(de.Name())
		if err != nil {
			bad = append(bad, de.Name())
			continue
		}
		folders = append(folders, SourceFolderDir{Name: name, Dir: dir})
	}
	slices.SortFunc(folders[1:], func(a, b SourceFolderDir) int { return strings.Compare(a.Name, b.Name) })
	return folders, bad, nil
}

// SourceFolderDir names one folder directory.
type SourceFolderDir struct{ Name, Dir string }

// ReadFolder reads one folder: its uidlist, its messages (flags through its
// dovecot-keywords) and their sizes. now is the UIDVALIDITY a folder without a uidlist
// gets.
func ReadFolder(fd SourceFolderDir, now time.Time) (SourceFolder, error) {
	f := SourceFolder{Name: fd.Name, Dir: fd.Dir}
	entries, err := maildir.Scan(fd.Dir)
	if err != nil {
		return f, err
	}
	data, err := os.ReadFile(filepath.Join(fd.Dir, UIDListFile))
	var ul *UIDList
	switch {
	case errors.Is(err, fs.ErrNotExist):
		f.NoUIDList = true
		ul = &UIDList{UIDValidity: uint32(now.Unix()), NextUID: 1, UIDs: map[string]uint32{}}
	case err != nil:
		return f, fmt.Errorf("read uidlist: %w", err)
	default:
		if ul, err = ParseUIDList(data); err != nil {
			return f, err
		}
	}
	f.UIDValidity, f.UIDNext = ul.UIDValidity, ul.UIDNext()
	var unlisted []maildir.Entry
	for _, e := range entries {
		uid, ok := ul.UIDs[e.Base]
		if !ok {
			unlisted = append(unlisted, e)
			continue
		}
		f.Messages = append(f.Messages, SourceMessage{UID: uid, Entry: e})
	}
	for _, e := range unlisted {
		if f.UIDNext == 0xFFFFFFFF {
			return f, fmt.Errorf("folder %s: no UIDs left for %d unlisted messages", fd.Name, len(unlisted))
		}
		f.Messages = append(f.Messages, SourceMessage{UID: f.UIDNext, Entry: e})
		f.UIDNext++
		f.Unlisted++
	}
	slices.SortFunc(f.Messages, func(a, b SourceMessage) int { return int(a.UID) - int(b.UID) })
	for i := range f.Messages {
		m := &f.Messages[i]
		if m.Size = m.Entry.VSize; m.Size < 0 {
			if m.Size, err = crlfSize(m.Entry.Path); err != nil {
				return f, fmt.Errorf("folder %s: %w", fd.Name, err)
			}
		}
	}
	return f, nil
}

// crlfSize is the size of the file with every bare LF counted as CRLF (RFC822.SIZE).
func crlfSize(path string) (int64, error) {
	fh, err := os.Open(path)
	if err != nil {
		return 0, err
	}
	defer fh.Close()
	r := bufio.NewReaderSize(fh, 64<<10)
	var n int64
	var prev byte
	buf := make([]byte, 64<<10)
	for {
		k, err := r.Read(buf)
		for _, c := range buf[:k] {
			if c == '\n' && prev != '\r' {
				n++
			}
			prev = c
		}
		n += int64(k)
		if errors.Is(err, io.EOF) {
			return n, nil
		}
		if err != nil {
			return 0, err
		}
	}
}

// wellKnownSpecialUse is the special-use attribute a folder name usually means
// (RFC 6154), for folders whose Dovecot configuration is not at hand.
func wellKnownSpecialUse(name string) string {
	switch strings.ToLower(name) {
	case "drafts":
		return `\Drafts`
	case "sent", "sent messages", "sent items", "sent mail":
		return `\Sent`
	case "junk", "spam":
		return `\Junk`
	case "trash", "deleted messages", "deleted items":
		return `\Trash`
	case "archive", "archives":
		return `\Archive`
	}
	return ""
}
