package export

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/postern/postern/store"
	"github.com/postern/postern/store/durable"
	"github.com/postern/postern/store/maildir"
)

// Store is what an export reads from the index.
type Store interface {
	ListMailboxes(ctx context.Context, user string) ([]store.Mailbox, error)
	ListMessages(ctx context.Context, mailboxID int64, sinceUID uint32) ([]store.Message, error)
	Subscriptions(ctx context.Context, user string) ([]string, error)
}

// Report sums up an export.
type Report struct {
	Folders, Messages, Linked, Copied int
	Subscriptions                     int      // names written to the subscriptions file
	Missing                           []string // indexed messages whose file was not found
}

// source finds the files of one Postern folder by base name.
func source(dir string) (map[string]string, error) {
	out := map[string]string{}
	for _, sub := range []string{"new", "cur"} {
		des, err := os.ReadDir(filepath.Join(dir, sub))
		if err != nil {
			return nil, fmt.Errorf("export: %w", err)
		}
		for _, de := range des {
			base, _ := maildir.SplitInfo(de.Name())
			out[base] = filepath.Join(dir, sub, de.Name())
		}
	}
	return out, nil
}

// Maildir writes user's mail from the Maildir at root (Postern's) into dest as a
// Maildir++ tree with dovecot-uidlist files; dest must be missing or empty.
func Maildir(ctx context.Context, st Store, user, root, dest string) (Report, error) {
	var rep Report
	if err := emptyDir(dest); err != nil {
		return rep, err
	}
	mbs, err := st.ListMailboxes(ctx, user)
	if err != nil {
		return rep, err
	}
	for _, mb := range mbs {
		if err := ctx.Err(); err != nil {
			return rep, err
		}
		if err := exportFolder(ctx, st, mb, root, dest, &rep); err != nil {
			return rep, fmt.Errorf("export %s: %w", mb.Name, err)
		}
	}
	// Subscriptions are names (RFC 3501 6.3.6): those of deleted mailboxes go too, as
	// Dovecot keeps them.
	subs, err := st.Subscriptions(ctx, user)
	if err != nil {
		return rep, err
	}
	var b strings.Builder
	b.WriteString("V\t2\n\n")
	for _, n := range subs {
		b.WriteString(subscriptionLine(n))
	}
	rep.Subscriptions = len(subs)
	return rep, durable.WriteFile(filepath.Join(dest, "subscriptions"), []byte(b.String()), 0o600)
}

func subscriptionLine(name string) string {
	parts := strings.Split(name, "/")
	for i, p := range parts {
		if enc, err := maildir.EncodeUTF7(p); err == nil {
			parts[i] = enc
		}
	}
	return strings.Join(parts, "\t") + "\n"
}

func exportFolder(ctx context.Context, st Store, mb store.Mailbox, root, dest string, rep *Report) error {
	dirName, err := maildir.FolderDirName(mb.Name)
	if err != nil {
		return err
	}
	srcDir, out := filepath.Join(root, dirName), filepath.Join(dest, dirName)
	for _, sub := range []string{"tmp", "new", "cur"} {
		if err := os.MkdirAll(filepath.Join(out, sub), 0o700); err != nil {
			return err
		}
	}
	if dirName != "" {
		if err := os.WriteFile(filepath.Join(out, maildir.FolderMarker), nil, 0o600); err != nil {
			return err
		}
	}
	msgs, err := st.ListMessages(ctx, mb.ID, 0)
	if err != nil {
		return err
	}
	files := map[string]string{}
	if _, err := os.Stat(srcDir); err == nil {
		if files, err = source(srcDir); err != nil {
			return err
		}
		if kw, err := os.ReadFile(filepath.Join(srcDir, maildir.KeywordsFile)); err == nil {
			if err := os.WriteFile(filepath.Join(out, maildir.KeywordsFile), kw, 0o600); err != nil {
				return err
			}
		}
	}
	kw, err := maildir.EnsureKeywords(out, keywordsOf(msgs))
	if err != nil {
		return err
	}
	var ul bytes.Buffer
	fmt.Fprintf(&ul, "3 V%d N%d G%s\n", mb.UIDValidity, mb.UIDNext, guid())
	for _, m := range msgs {
		path, ok := files[m.Filename]
		if !ok {
			rep.Missing = append(rep.Missing, mb.Name+"/"+m.Filename)
			continue
		}
		inNew := filepath.Base(filepath.Dir(path)) == "new" && len(m.Flags) == 0
		name, err := dovecotName(m.Filename, m.Flags, kw, inNew)
		if err != nil {
			return err
		}
		sub := "cur"
		if inNew {
			sub = "new"
		}
		to := filepath.Join(out, sub, name)
		if err := os.Link(path, to); err == nil {
			rep.Linked++
		} else if err := copyFile(path, to); err != nil {
			return err
		} else {
			rep.Copied++
		}
		fmt.Fprintf(&ul, "%d :%s\n", m.UID, m.Filename)
		rep.Messages++
	}
	rep.Folders++
	if err := durable.WriteFile(filepath.Join(out, "dovecot-uidlist"), ul.Bytes(), 0o600); err != nil {
		return err
	}
	for _, sub := range []string{"new", "cur"} {
		if err := durable.SyncDir(filepath.Join(out, sub)); err != nil {
			return err
		}
	}
	return nil
}

func guid() string {
	b := make([]byte, 16)
	rand.Read(b)
	return hex.EncodeToString(b)
}

func emptyDir(dir string) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("export: %w", err)
	}
	des, err := os.ReadDir(dir)
	if err != nil {
		return fmt.Errorf("export: %w", err)
	}
	if len(des) > 0 {
		return fmt.Errorf("export: %s is not empty", dir)
	}
	return nil
}

func copyFile(from, to string) error {
	fi, err := os.Stat(from)
	if err != nil {
		return err
	}
	in, err := os.Open(from)
	if err != nil {
		return err
	}
	defer in.Close()
	f, err := durable.CreateExcl(to, 0o600)
	if err != nil {
		return err
	}
	defer f.Abort()
	if _, err := io.Copy(f, in); err != nil {
		return err
	}
	if err := f.Commit(to); err != nil {
		return err
	}
	return os.Chtimes(to, fi.ModTime(), fi.ModTime())
}

// Mbox writes each of user's folders into dest (missing or empty) as an mboxrd file,
// DEST/NAME.mbox with '/' in NAME becoming a subdirectory.
func Mbox(ctx context.Context, st Store, user, root, dest string) (Report, error) {
	var rep Report
	if err := emptyDir(dest); err != nil {
		return rep, err
	}
	mbs, err := st.ListMailboxes(ctx, user)
	if err != nil {
		return rep, err
	}
	for _, mb := range mbs {
		if err := ctx.Err(); err != nil {
			return rep, err
		}
		if err := mboxFolder(ctx, st, mb, root, dest, &rep); err != nil {
			return rep, fmt.Errorf("export %s: %w", mb.Name, err)
		}
	}
	return rep, nil
}

func mboxFolder(ctx context.Context, st Store, mb store.Mailbox, root, dest string, rep *Report) error {
	dirName, err := maildir.FolderDirName(mb.Name)
	if err != nil {
		return err
	}
	files := map[string]string{}
	if _, err := os.Stat(filepath.Join(root, dirName)); err == nil {
		if files, err = source(filepath.Join(root, dirName)); err != nil {
			return err
		}
	}
	msgs, err := st.ListMessages(ctx, mb.ID, 0)
	if err != nil {
		return err
	}
	path := filepath.Join(dest, filepath.FromSlash(mb.Name)+".mbox")
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return err
	}
	f, err := durable.CreateExcl(path, 0o600)
	if err != nil {
		return err
	}
	defer f.Abort()
	w := bufio.NewWriterSize(f, 64<<10)
	for _, m := range msgs {
		src, ok := files[m.Filename]
		if !ok {
			rep.Missing = append(rep.Missing, mb.Name+"/"+m.Filename)
			continue
		}
		if err := writeMboxMessage(w, src, m.InternalDate); err != nil {
			return err
		}
		rep.Messages++
	}
	if err := w.Flush(); err != nil {
		return err
	}
	rep.Folders++
	return f.Commit(path)
}

// writeMboxMessage appends one message in mboxrd form.
func writeMboxMessage(w *bufio.Writer, path string, date time.Time) error {
	in, err := os.Open(path)
	if err != nil {
		return err
	}
	defer in.Close()
	fmt.Fprintf(w, "From MAILER-DAEMON %s\n", date.UTC().Format("Mon Jan _2 15:04:05 2006"))
	return MboxQuote(w, in)
}

// MboxQuote copies a message as mboxrd lines: CRLF becomes LF, a line that matches
// ">*From " gets one more '>', and the message ends with an empty line.
func MboxQuote(w io.Writer, r io.Reader) error {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64<<10), 16<<20)
	for sc.Scan() {
		line := bytes.TrimSuffix(sc.Bytes(), []byte("\r"))
		if bytes.HasPrefix(bytes.TrimLeft(line, ">"), []byte("From ")) {
			if _, err := w.Write([]byte(">")); err != nil {
				return err
			}
		}
		if _, err := w.Write(append(line, '\n')); err != nil {
			return err
		}
	}
	if err := sc.Err(); err != nil {
		return err
	}
	_, err := w.Write([]byte("\n"))
	return err
}

// keywordsOf lists the keywords of msgs, $Forwarded included: Dovecot keeps it as a
// keyword, where Postern's file names use Maildir's 'P' letter.
func keywordsOf(msgs []store.Message) []string {
	var out []string
	for _, m := range msgs {
		for _, f := range m.Flags {
			if !strings.HasPrefix(f, `\`) && !slices.Contains(out, f) {
				out = append(out, f)
			}
		}
	}
	return out
}

// dovecotName is the file name Dovecot gives a message with flags: Maildir letters for
// the system flags, keyword letters through kw for the rest, $Forwarded among them.
func dovecotName(base string, flags []string, kw *maildir.Keywords, inNew bool) (string, error) {
	var rest []string
	fwd := false
	for _, f := range flags {
		if strings.EqualFold(f, maildir.FlagForwarded) {
			fwd = true
			continue
		}
		rest = append(rest, f)
	}
	name, err := maildir.FileName(base, rest, kw, inNew)
	if err != nil || !fwd {
		return name, err
	}
	l, ok := kw.Letter(maildir.FlagForwarded)
	if !ok {
		return "", fmt.Errorf("export: no keyword letter for %s", maildir.FlagForwarded)
	}
	b, letters := maildir.SplitInfo(name)
	ls := []byte(letters + string(l))
	slices.Sort(ls)
	return b + ":2," + string(ls), nil
}
