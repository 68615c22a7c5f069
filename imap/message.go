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

// pick returns the messages at the given indexes of sel.uids (ascending) from the
// mailbox's snapshot, brought up to date first, with their sequence numbers. Messages
// the snapshot no longer has (expunged, not yet reported to this session) are left
// out.
func (ss *session) pick(ctx context.Context, sel *selected, idx []int) ([]snapMsg, []uint32, error) {
	if len(idx) == 0 {
		return nil, nil, nil
	}
	v, err := sel.snap.current(ctx)
	if err != nil {
		return nil, nil, err
	}
	ss.fresh = true
	out := make([]snapMsg, 0, len(idx))
	seqs := make([]uint32, 0, len(idx))
	j, _ := v.find(sel.uids[idx[0]])
	for _, i := range idx {
		uid := sel.uids[i]
		for j < len(v.msgs) && v.msgs[j].UID < uid {
			j++
		}
		if j < len(v.msgs) && v.msgs[j].UID == uid {
			out = append(out, v.msgs[j])
			seqs = append(seqs, uint32(i+1))
		}
	}
	return out, seqs, nil
}

// folder is what finding message files in one folder needs during one command.
type folder struct {
	dir   string
	kw    *maildir.Keywords
	names map[string]string // base -> path, filled on the first miss
}

func (s *Server) newFolder(dir string) (*folder, error) {
	kw, err := s.keywords.load(dir)
	if err != nil {
		return nil, err
	}
	return &folder{dir: dir, kw: kw}, nil
}

// withPath runs op on the message's file. The file is not looked up first: op is tried
// on where the file was last found, then where the index's flags put it (cur/ with
// those flags, or new/ for a message no client has touched), and only if all of those
// fail with "not exist" (another program renamed it) does one listing of the folder
// find it by its base name. op must fail with fs.ErrNotExist, and do nothing, when the
// path does not exist. The path that worked is remembered in the message's cell.
func (f *folder) withPath(m snapMsg, op func(path string) error) (string, error) {
	hint := ""
	if m.cell != nil {
		hint = m.cell.pathHint()
	}
	tried := make([]string, 0, 3)
	try := func(p string) (bool, error) {
		if p == "" || slices.Contains(tried, p) {
			return false, nil
		}
		tried = append(tried, p)
		err := op(p)
		if errors.Is(err, fs.ErrNotExist) {
			return false, nil
		}
		if err == nil && m.cell != nil && p != hint {
			m.cell.path.Store(&p)
		}
		return true, err
	}
	cur, nw := f.predicted(m.Message)
	first, second := cur, nw
	if len(m.Flags) == 0 {
		first, second = nw, cur
	}
	for _, p := range []string{hint, first, second} {
		if done, err := try(p); done {
			return p, err
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
		if done, err := try(p); done {
			return p, err
		}
	}
	return "", fmt.Errorf("imap: message file %s: %w", m.Filename, fs.ErrNotExist)
}

// predicted are the paths the index's flags give the message in cur/ and in new/.
func (f *folder) predicted(m store.Message) (cur, nw string) {
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
	return filepath.Join(f.dir, "cur", m.Filename+":2,"+string(letters)), filepath.Join(f.dir, "new", m.Filename)
}

// open opens the message's file for reading through a buffer; errGone if it is gone.
func (f *folder) open(m snapMsg) (*os.File, *bufio.Reader, error) {
	var file *os.File
	_, err := f.withPath(m, func(p string) error {
		var err error
		file, err = os.Open(p)
		return err
	})
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil, errGone
	}
	if err != nil {
		return nil, nil, err
	}
	// A buffer the size of a small message, 32 KiB for large ones.
	return file, bufio.NewReaderSize(file, int(min(max(m.Size+512, 4096), 32*1024))), nil
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

var errGone = errors.New("message file is gone")
