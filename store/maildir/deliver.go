package maildir

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"syscall"
	"time"

	"github.com/postern/postern/store/durable"
)

// Target is one place a delivery goes to.
type Target struct {
	Root   string   // the user's Maildir root
	Folder string   // folder name as clients see it; "" means INBOX
	Flags  []string // IMAP flags and keywords; none means the message goes to new/
}

// Delivered describes one file a delivery made.
type Delivered struct {
	Root   string // the target's Maildir root
	Folder string // the target's folder name ("INBOX" for "")
	Dir    string // the folder's directory
	Name   string // the file name in new/ or cur/
	Path   string // the full path of the file
	Size   int64  // bytes in the file (S=)
	VSize  int64  // bytes with bare LF counted as CRLF (W=, RFC822.SIZE)
}

// plan is a resolved target.
type plan struct {
	t       Target
	dir     string
	letters string
}

// Deliver stores one message in every target: header (already formatted
// header lines to prepend, such as Return-Path and Received; may be nil)
// followed by body, streamed. The file is written once, to the first
// target's tmp/, fsynced, then hard-linked into each other target's new/
// (cur/ with the flags, if the target has flags; copied when a link would
// cross file systems) and renamed into the first target's, each destination
// directory fsynced. Only then does Deliver
// return. On error no file is left in any new/ or cur/. Every target's
// folder must exist (wrapping ErrNoFolder otherwise), and no folder may
// appear twice.
func Deliver(n *Namer, targets []Target, header []byte, body io.Reader) ([]Delivered, error) {
	return deliver(n, targets, header, body, time.Time{})
}

// Append stores one message in folder with flags, its INTERNALDATE (the
// file's mtime) set to date unless date is zero. It is IMAP APPEND.
func (m *Maildir) Append(folder string, flags []string, date time.Time, r io.Reader) (Delivered, error) {
	d, err := deliver(m.Namer, []Target{{Root: m.Root, Folder: folder, Flags: flags}}, nil, r, date)
	if err != nil {
		return Delivered{}, err
	}
	return d[0], nil
}

func deliver(n *Namer, targets []Target, header []byte, body io.Reader, date time.Time) ([]Delivered, error) {
	plans, err := planTargets(targets)
	if err != nil {
		return nil, err
	}
	unique := n.Next()
	tmp, err := durable.CreateExcl(filepath.Join(plans[0].dir, "tmp", unique), fileMode)
	if err != nil {
		return nil, fmt.Errorf("maildir: deliver: %w", err)
	}
	defer tmp.Abort() // removes the tmp/ file unless CommitShared renamed it
	bp, _ := n.bufs.Get().(*[]byte)
	if bp == nil {
		b := make([]byte, 32*1024)
		bp = &b
	}
	size, vsize, err := writeCounting(tmp, header, body, *bp)
	n.bufs.Put(bp)
	if err != nil {
		return nil, fmt.Errorf("maildir: deliver: %w", err)
	}
	if !date.IsZero() {
		if err := os.Chtimes(tmp.Name(), date, date); err != nil {
			return nil, fmt.Errorf("maildir: deliver: %w", err)
		}
	}
	if err := tmp.Seal(); err != nil {
		return nil, fmt.Errorf("maildir: deliver: %w", err)
	}
	base := withSizes(unique, size, vsize)
	out := make([]Delivered, len(plans))
	for i, p := range plans {
		name := infoName(base, p.letters, len(p.t.Flags) == 0)
		sub := "cur"
		if len(p.t.Flags) == 0 {
			sub = "new"
		}
		out[i] = Delivered{
			Root: p.t.Root, Folder: p.t.Folder, Dir: p.dir,
			Name: name, Path: filepath.Join(p.dir, sub, name), Size: size, VSize: vsize,
		}
	}
	// The other targets get hard links (or copies) of the tmp/ file first; then the file
	// itself is renamed into the first target, whose tmp/ it was written in, as any
	// Maildir delivery does: one rename instead of a link and an unlink.
	for i := 1; i < len(plans); i++ {
		if err := linkOrCopy(&n.dirs, tmp.Name(), out[i].Path, plans[i].dir, unique); err != nil {
			removeAll(out[1:i])
			return nil, fmt.Errorf("maildir: deliver to %s %q: %w", plans[i].t.Root, plans[i].t.Folder, err)
		}
	}
	if err := tmp.CommitShared(&n.dirs, out[0].Path); err != nil {
		removeAll(out) // the rename may have happened before the directory fsync failed
		return nil, fmt.Errorf("maildir: deliver to %s %q: %w", plans[0].t.Root, plans[0].t.Folder, err)
	}
	return out, nil
}

// planTargets resolves folders and keyword letters before anything is
// written, so a bad target fails the delivery without leaving files.
func planTargets(targets []Target) ([]plan, error) {
	if len(targets) == 0 {
		return nil, errors.New("maildir: deliver: no targets")
	}
	plans := make([]plan, 0, len(targets))
	seen := make(map[string]bool, len(targets))
	for _, t := range targets {
		if t.Folder == "" {
			t.Folder = Inbox
		}
		dir, err := (&Maildir{Root: t.Root}).FolderDir(t.Folder)
		if err != nil {
			return nil, err
		}
		if seen[dir] {
			return nil, fmt.Errorf("maildir: deliver: folder %s given twice", dir)
		}
		seen[dir] = true
		if fi, err := os.Stat(filepath.Join(dir, "cur")); err != nil || !fi.IsDir() {
			return nil, fmt.Errorf("maildir: deliver to %s %q: %w", t.Root, t.Folder, ErrNoFolder)
		}
		letters, err := flagLetters(dir, t.Flags)
		if err != nil {
			return nil, err
		}
		plans = append(plans, plan{t: t, dir: dir, letters: letters})
	}
	return plans, nil
}

// flagLetters turns IMAP flags into sorted info letters, giving keywords
// letters in dir's dovecot-keywords as needed.
func flagLetters(dir string, flags []string) (string, error) {
	letters, kws, err := splitFlags(flags)
	if err != nil {
		return "", err
	}
	if len(kws) > 0 {
		kw, err := EnsureKeywords(dir, kws)
		if err != nil {
			return "", err
		}
		for _, k := range kws {
			l, _ := kw.Letter(k)
			letters = append(letters, l)
		}
	}
	return sortLetters(letters), nil
}

func withSizes(unique string, size, vsize int64) string {
	b := []byte(unique)
	b = append(b, ",S="...)
	b = strconv.AppendInt(b, size, 10)
	if vsize >= 0 {
		b = append(b, ",W="...)
		b = strconv.AppendInt(b, vsize, 10)
	}
	return string(b)
}

// writeCounting writes header then body to w, through buf, and returns the byte
// count and the count with every bare LF taken as CRLF.
func writeCounting(w io.Writer, header []byte, body io.Reader, buf []byte) (size, vsize int64, err error) {
	var c crlfCounter
	if _, err := w.Write(header); err != nil {
		return 0, 0, err
	}
	c.count(header)
	for {
		nr, rerr := body.Read(buf)
		if nr > 0 {
			c.count(buf[:nr])
			if _, err := w.Write(buf[:nr]); err != nil {
				return 0, 0, err
			}
		}
		if rerr == io.EOF {
			break
		}
		if rerr != nil {
			return 0, 0, fmt.Errorf("reading message: %w", rerr)
		}
	}
	return c.n, c.n + c.bareLF, nil
}

type crlfCounter struct {
	n, bareLF int64
	prevCR    bool
}

func (c *crlfCounter) count(p []byte) {
	for _, b := range p {
		if b == '\n' && !c.prevCR {
			c.bareLF++
		}
		c.prevCR = b == '\r'
	}
	c.n += int64(len(p))
}

// linkOrCopy hard-links src to dst and fsyncs dst's directory; across file
// systems it copies through dir/tmp/ and renames, so dst appears whole.
func linkOrCopy(dirs *durable.DirSyncer, src, dst, dir, unique string) error {
	err := durable.LinkShared(dirs, src, dst)
	if err == nil || !errors.Is(err, syscall.EXDEV) {
		return err
	}
	return copyFile(src, dst, filepath.Join(dir, "tmp", unique))
}

func copyFile(src, dst, tmpPath string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	fi, err := in.Stat()
	if err != nil {
		return err
	}
	out, err := durable.CreateExcl(tmpPath, fileMode)
	if err != nil {
		return err
	}
	defer out.Abort()
	if _, err := io.Copy(out, in); err != nil {
		return err
	}
	if err := os.Chtimes(tmpPath, fi.ModTime(), fi.ModTime()); err != nil {
		return err
	}
	return out.Commit(dst)
}

// removeAll undoes a partial delivery, best effort: the error that caused it
// is what the caller needs to see.
func removeAll(ds []Delivered) {
	for _, d := range ds {
		if err := os.Remove(d.Path); err == nil || errors.Is(err, fs.ErrNotExist) {
			durable.SyncDir(filepath.Dir(d.Path))
		}
	}
}
