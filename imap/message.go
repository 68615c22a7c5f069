package imap

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/postern/postern/store"
	"github.com/postern/postern/store/maildir"
)

// letterOf maps IMAP system flags to Maildir info letters, as store/maildir names
// files: D draft, F flagged, P passed ($Forwarded), R replied, S seen, T trashed.
var letterOf = map[string]byte{
	`\draft`: 'D', `\flagged`: 'F', `$forwarded`: 'P', `\answered`: 'R', `\seen`: 'S', `\deleted`: 'T',
}

// messages loads the index rows of the messages at the given indexes of sel.uids,
// in the same order. Rows that vanished meanwhile are left out.
func (ss *session) messages(ctx context.Context, sel *selected, idx []int) ([]store.Message, []uint32, error) {
	if len(idx) == 0 {
		return nil, nil, nil
	}
	rows, err := ss.srv.opts.Store.ListMessagesRange(ctx, sel.id, sel.uids[idx[0]], sel.uids[idx[len(idx)-1]])
	if err != nil {
		return nil, nil, err
	}
	out, seqs := pickRows(sel, idx, rows, func(m *store.Message) uint32 { return m.UID })
	return out, seqs, nil
}

// cachedMessages is messages with each row's cached ENVELOPE and BODYSTRUCTURE.
func (ss *session) cachedMessages(ctx context.Context, sel *selected, idx []int) ([]store.CachedMessage, []uint32, error) {
	if len(idx) == 0 {
		return nil, nil, nil
	}
	rows, err := ss.srv.opts.Store.ListMessagesRangeCached(ctx, sel.id, sel.uids[idx[0]], sel.uids[idx[len(idx)-1]])
	if err != nil {
		return nil, nil, err
	}
	out, seqs := pickRows(sel, idx, rows, func(m *store.CachedMessage) uint32 { return m.UID })
	return out, seqs, nil
}

// pickRows keeps, from rows in UID order, those at the indexes idx (ascending) of
// sel.uids, with their sequence numbers.
func pickRows[T any](sel *selected, idx []int, rows []T, uidOf func(*T) uint32) ([]T, []uint32) {
	out := make([]T, 0, len(idx))
	seqs := make([]uint32, 0, len(idx))
	j := 0
	for _, i := range idx {
		uid := sel.uids[i]
		for j < len(rows) && uidOf(&rows[j]) < uid {
			j++
		}
		if j < len(rows) && uidOf(&rows[j]) == uid {
			out = append(out, rows[j])
			seqs = append(seqs, uint32(i+1))
		}
	}
	return out, seqs
}

// folder caches what finding files in one folder needs during one command.
type folder struct {
	dir   string
	kw    *maildir.Keywords
	names map[string]string // base -> path, filled on the first miss
}

func newFolder(dir string) (*folder, error) {
	kw, err := maildir.LoadKeywords(dir)
	if err != nil {
		return nil, err
	}
	return &folder{dir: dir, kw: kw}, nil
}

// path finds the file of an indexed message. The index's flags predict its name in
// cur/ (or new/, for a message no session has touched); if another program renamed it,
// one directory listing finds it by its base name.
func (f *folder) path(m store.Message) (string, error) {
	var letters []byte
	for _, fl := range m.Flags {
		if l, ok := letterOf[strings.ToLower(fl)]; ok {
			letters = append(letters, l)
		} else if l, ok := f.kw.Letter(fl); ok {
			letters = append(letters, l)
		}
	}
	slices.Sort(letters)
	letters = slices.Compact(letters)
	for _, p := range []string{
		filepath.Join(f.dir, "cur", m.Filename+":2,"+string(letters)),
		filepath.Join(f.dir, "new", m.Filename),
	} {
		if _, err := os.Lstat(p); err == nil {
			return p, nil
		}
	}
	if f.names == nil {
		f.names = map[string]string{}
		for _, sub := range []string{"new", "cur"} {
			des, err := os.ReadDir(filepath.Join(f.dir, sub))
			if err != nil {
				return "", fmt.Errorf("imap: list %s: %w", sub, err)
			}
			for _, de := range des {
				base, _ := maildir.SplitInfo(de.Name())
				f.names[base] = filepath.Join(f.dir, sub, de.Name())
			}
		}
	}
	if p, ok := f.names[m.Filename]; ok {
		return p, nil
	}
	return "", fmt.Errorf("imap: message file %s: %w", m.Filename, fs.ErrNotExist)
}

// crlfWriter writes p with every bare LF turned into CRLF: IMAP sizes and literals
// count CRLF line ends (RFC 3501 section 2.3.4) whatever the file holds.
type crlfWriter struct {
	w      io.Writer
	prevCR bool
}

func (c *crlfWriter) Write(p []byte) (int, error) {
	start := 0
	for i, b := range p {
		if b == '\n' && !(i == 0 && c.prevCR) && !(i > 0 && p[i-1] == '\r') {
			if _, err := c.w.Write(p[start:i]); err != nil {
				return 0, err
			}
			if _, err := c.w.Write([]byte("\r\n")); err != nil {
				return 0, err
			}
			start = i + 1
		}
	}
	if _, err := c.w.Write(p[start:]); err != nil {
		return 0, err
	}
	if len(p) > 0 {
		c.prevCR = p[len(p)-1] == '\r'
	}
	return len(p), nil
}

func toCRLF(b []byte) []byte {
	if !bytes.Contains(b, []byte("\n")) {
		return b
	}
	var buf bytes.Buffer
	buf.Grow(len(b) + len(b)/32)
	cw := &crlfWriter{w: &buf}
	cw.Write(b) //nolint:errcheck // bytes.Buffer does not fail
	return buf.Bytes()
}

// openMessage opens a message file for reading through a buffer.
func openMessage(path string) (*os.File, *bufio.Reader, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, err
	}
	return f, bufio.NewReaderSize(f, 32*1024), nil
}

var errGone = errors.New("message file is gone")
