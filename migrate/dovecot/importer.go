package dovecot

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/postern/postern/internal/fileowner"
	"github.com/postern/postern/store"
	"github.com/postern/postern/store/durable"
	"github.com/postern/postern/store/maildir"
)

// Store is what the importer needs of Postern's store.
type Store interface {
	GetUser(ctx context.Context, address string) (store.User, error)
	ImportMailbox(ctx context.Context, user string, m store.ImportedMailbox) (store.ImportResult, error)
	GetMailbox(ctx context.Context, user, name string) (store.Mailbox, error)
	ListMessages(ctx context.Context, mailboxID int64, sinceUID uint32) ([]store.Message, error)
	ListScripts(ctx context.Context, user string) ([]store.SieveScript, error)
	GetScript(ctx context.Context, user, name string) (store.SieveScript, error)
	PutScript(ctx context.Context, user, name, content string) error
	SetActive(ctx context.Context, user, name string) error
	SetSubscribed(ctx context.Context, user, name string, subscribed bool) error
}

// Options configure an Importer.
type Options struct {
	// MailRoot is Postern's mail directory (STATE_DIR/mail); a user's Maildir is
	// MailRoot/DOMAIN/LOCAL.
	MailRoot string
	// DryRun reads and reports everything, changes nothing.
	DryRun bool
	// SpecialUse maps folder names to RFC 6154 attributes, over everything else (the
	// command line's --special-use).
	SpecialUse map[string]string
	// ConfSpecialUse, when not nil, is what Dovecot's configuration gave (DovecotConf):
	// the folders it names get its attributes and no other folder gets one, as under
	// Dovecot. Nil: the well-known names (Sent, Junk, Spam...) are guessed.
	ConfSpecialUse map[string]string
	// CheckSieve compiles one of user's scripts as an upload is checked (includes, the
	// vacation :from rule); a script that does not pass is reported and left out. Nil
	// accepts every script.
	CheckSieve func(ctx context.Context, user, name string, src []byte) error
	// Owner, when >= 0, is the uid (and OwnerGID the gid) given to what the import
	// creates under MailRoot (the importer runs as root, the daemon does not).
	Owner, OwnerGID int
	// Now is the clock (UIDVALIDITY of folders without a uidlist). Default time.Now.
	Now func() time.Time
}

// Importer brings Dovecot users' mail into Postern.
type Importer struct {
	st Store
	o  Options
}

// NewImporter returns an Importer writing through st.
func NewImporter(st Store, o Options) *Importer {
	if o.Now == nil {
		o.Now = time.Now
	}
	return &Importer{st: st, o: o}
}

// UserSource is where one user's Dovecot data lives.
type UserSource struct {
	Address string
	Maildir string // the Maildir++ root (INBOX)
	// SieveDir holds NAME.sieve scripts (Pigeonhole's sieve = file:~/sieve); "" for none.
	SieveDir string
	// ActiveSieve is the active script's symlink (~/.dovecot.sieve); "" for none.
	ActiveSieve string
}

// FolderReport is the outcome for one folder.
type FolderReport struct {
	Name        string
	UIDValidity uint32
	UIDNext     uint32
	SpecialUse  string
	Subscribed  bool
	Messages    int // in the source
	Added       int // indexed now
	Kept        int // already imported earlier
	Linked      int // files hard-linked
	Copied      int // files copied (another file system)
	Unlisted    int // messages Dovecot had not numbered yet
	Created     bool
	Err         string // the folder was not imported
}

// UserReport is the outcome for one user.
type UserReport struct {
	User    string
	Folders []FolderReport
	Sieve   []string // what happened to each script, one line each
	// NameOnly are subscriptions without a folder (Dovecot keeps them after a DELETE,
	// as RFC 3501 6.3.6 says): taken as names.
	NameOnly []string
	Errors   []string // plain errors for what could not be taken
}

// ImportUser imports one user's folders, subscriptions and Sieve scripts. Each folder
// is all or nothing: its files are linked into tmp/ of the Postern folder, the index is
// committed in one transaction, then the files are renamed into place; an interruption
// (ctx) before the commit removes the links. Errors that concern one folder or script
// are in the report; the error return is for what stops the whole user.
// progress, if not nil, is told after each message (done of total for this user).
func (im *Importer) ImportUser(ctx context.Context, src UserSource, progress func(done, total int)) (UserReport, error) {
	if progress == nil {
		progress = func(int, int) {}
	}
	rep := UserReport{User: src.Address}
	if _, err := im.st.GetUser(ctx, src.Address); err != nil {
		return rep, fmt.Errorf("user %s: %w (import the users first: postern import passwd-file)", src.Address, err)
	}
	if _, err := os.Stat(src.Maildir); errors.Is(err, fs.ErrNotExist) {
		return rep, nil // a user Dovecot never delivered to has no Maildir: nothing to take
	}
	dirs, bad, err := FolderDirs(src.Maildir)
	if err != nil {
		return rep, err
	}
	for _, b := range bad {
		rep.Errors = append(rep.Errors, fmt.Sprintf("folder directory %s: name is not valid Maildir++ (modified UTF-7): skipped", b))
	}
	subs := im.subscriptions(src.Maildir, &rep)
	var folders []SourceFolder
	total := 0
	for _, fd := range dirs {
		f, err := ReadFolder(fd, im.o.Now())
		if err != nil {
			rep.Folders = append(rep.Folders, FolderReport{Name: fd.Name, Err: err.Error()})
			rep.Errors = append(rep.Errors, fmt.Sprintf("folder %s: %v", fd.Name, err))
			continue
		}
		folders = append(folders, f)
		total += len(f.Messages)
	}
	done := 0
	dest := userRoot(im.o.MailRoot, src.Address)
	for _, f := range folders {
		if err := ctx.Err(); err != nil {
			return rep, err
		}
		fr := im.importFolder(ctx, src.Address, dest, f, subs[f.Name], func() { done++; progress(done, total) })
		rep.Folders = append(rep.Folders, fr)
		if fr.Err != "" {
			rep.Errors = append(rep.Errors, fmt.Sprintf("folder %s: %s", f.Name, fr.Err))
		}
	}
	if err := ctx.Err(); err != nil {
		return rep, err
	}
	im.importNameOnly(ctx, src.Address, folders, subs, &rep)
	im.importSieve(ctx, src, &rep)
	if !im.o.DryRun {
		if err := fileowner.Tree(dest, im.o.Owner, im.o.OwnerGID); err != nil {
			rep.Errors = append(rep.Errors, err.Error())
		}
	}
	return rep, nil
}

// importNameOnly subscribes the names of subs that no folder of folders has.
func (im *Importer) importNameOnly(ctx context.Context, user string, folders []SourceFolder, subs map[string]bool, rep *UserReport) {
	have := map[string]bool{}
	for _, f := range folders {
		have[f.Name] = true
	}
	for _, n := range slices.Sorted(maps.Keys(subs)) {
		if have[n] {
			continue
		}
		if !im.o.DryRun {
			if err := im.st.SetSubscribed(ctx, user, n, true); err != nil {
				rep.Errors = append(rep.Errors, fmt.Sprintf("subscription %q: %v", n, err))
				continue
			}
		}
		rep.NameOnly = append(rep.NameOnly, n)
	}
}

func (im *Importer) subscriptions(root string, rep *UserReport) map[string]bool {
	out := map[string]bool{}
	data, err := os.ReadFile(filepath.Join(root, SubscriptionsFile))
	if err != nil {
		if !os.IsNotExist(err) {
			rep.Errors = append(rep.Errors, fmt.Sprintf("subscriptions: %v", err))
		}
		return out
	}
	names, bad, err := ParseSubscriptions(data)
	if err != nil {
		rep.Errors = append(rep.Errors, fmt.Sprintf("subscriptions: %v", err))
	}
	for _, b := range bad {
		rep.Errors = append(rep.Errors, fmt.Sprintf("subscription %q: not a valid name: skipped", b))
	}
	for _, n := range names {
		out[n] = true
	}
	return out
}

func userRoot(mailRoot, address string) string {
	local, domain := store.SplitAddress(address)
	return filepath.Join(mailRoot, domain, local)
}

func (im *Importer) specialUse(name string) string {
	if su, ok := im.o.SpecialUse[name]; ok {
		return su
	}
	if im.o.ConfSpecialUse != nil {
		return im.o.ConfSpecialUse[name]
	}
	return wellKnownSpecialUse(name)
}

// importFolder brings one folder over; tick is called once per message.
func (im *Importer) importFolder(ctx context.Context, user, destRoot string, f SourceFolder, subscribed bool, tick func()) FolderReport {
	fr := FolderReport{Name: f.Name, UIDValidity: f.UIDValidity, UIDNext: f.UIDNext, SpecialUse: im.specialUse(f.Name),
		Subscribed: subscribed, Messages: len(f.Messages), Unlisted: f.Unlisted}
	if f.NoUIDList {
		fr.Err = "" // imported, but with a new UIDVALIDITY; said in the summary
	}
	if im.o.DryRun {
		im.dryRunFolder(ctx, user, f, &fr)
		for range f.Messages {
			tick()
		}
		return fr
	}
	md := &maildir.Maildir{Root: destRoot}
	destDir, err := md.EnsureFolder(f.Name)
	if err != nil {
		fr.Err = err.Error()
		return fr
	}
	staged, msgs, err := im.stage(ctx, destDir, f, &fr, tick)
	if err != nil {
		unstage(staged)
		fr.Err = err.Error()
		return fr
	}
	res, err := im.st.ImportMailbox(ctx, user, store.ImportedMailbox{Name: f.Name, UIDValidity: f.UIDValidity, UIDNext: f.UIDNext,
		SpecialUse: fr.SpecialUse, Subscribed: subscribed, Messages: msgs})
	if err != nil {
		unstage(staged)
		fr.Err = err.Error()
		return fr
	}
	fr.Added, fr.Kept, fr.Created = res.Added, res.Kept, res.Created
	if err := commitStaged(destDir, staged); err != nil {
		fr.Err = "indexed, but moving files into place failed (run the import again): " + err.Error()
	}
	return fr
}

// stagedFile is a link made in tmp/ that belongs in sub/name once the index commits.
type stagedFile struct{ tmp, final string }

// stage links every message not yet in destDir into destDir/tmp and returns the links
// and the index rows of all messages.
func (im *Importer) stage(ctx context.Context, destDir string, f SourceFolder, fr *FolderReport, tick func()) ([]stagedFile, []store.ImportedMessage, error) {
	var kws []string
	for _, m := range f.Messages {
		for _, fl := range m.Entry.Flags {
			if !strings.HasPrefix(fl, `\`) && !slices.Contains(kws, fl) {
				kws = append(kws, fl)
			}
		}
	}
	kw, err := maildir.EnsureKeywords(destDir, kws)
	if err != nil {
		return nil, nil, err
	}
	present, err := presentBases(destDir)
	if err != nil {
		return nil, nil, err
	}
	var staged []stagedFile
	msgs := make([]store.ImportedMessage, 0, len(f.Messages))
	for _, m := range f.Messages {
		if err := ctx.Err(); err != nil {
			return staged, nil, err
		}
		msgs = append(msgs, store.ImportedMessage{UID: m.UID, Filename: m.Entry.Base, Size: m.Size, InternalDate: m.Entry.ModTime, Flags: m.Entry.Flags})
		tick()
		if present[m.Entry.Base] {
			continue
		}
		name, err := maildir.FileName(m.Entry.Base, m.Entry.Flags, kw, m.Entry.New)
		if err != nil {
			return staged, nil, fmt.Errorf("message %s: %w", m.Entry.Name, err)
		}
		sub := "cur"
		if m.Entry.New && len(m.Entry.Flags) == 0 {
			sub = "new"
		}
		tmp := filepath.Join(destDir, "tmp", "import."+m.Entry.Base)
		copied, err := linkOrCopy(m.Entry.Path, tmp, m.Entry.ModTime)
		if err != nil {
			return staged, nil, fmt.Errorf("message %s: %w", m.Entry.Name, err)
		}
		if copied {
			fr.Copied++
		} else {
			fr.Linked++
		}
		staged = append(staged, stagedFile{tmp: tmp, final: filepath.Join(destDir, sub, name)})
	}
	if len(staged) > 0 {
		if err := durable.SyncDir(filepath.Join(destDir, "tmp")); err != nil {
			return staged, nil, err
		}
	}
	return staged, msgs, nil
}

// presentBases is the set of message base names already in a Postern folder.
func presentBases(dir string) (map[string]bool, error) {
	out := map[string]bool{}
	for _, sub := range []string{"new", "cur"} {
		des, err := os.ReadDir(filepath.Join(dir, sub))
		if err != nil {
			return nil, fmt.Errorf("read %s: %w", dir, err)
		}
		for _, de := range des {
			base, _ := maildir.SplitInfo(de.Name())
			out[base] = true
		}
	}
	return out, nil
}

// linkOrCopy hard-links src to dst, or copies it (keeping its mtime, the INTERNALDATE)
// where a link is not possible (another file system, or links refused).
func linkOrCopy(src, dst string, mtime time.Time) (copied bool, err error) {
	if err := os.Link(src, dst); err == nil {
		return false, nil
	} else if os.IsExist(err) {
		os.Remove(dst)
		if err := os.Link(src, dst); err == nil {
			return false, nil
		}
	}
	in, err := os.Open(src)
	if err != nil {
		return true, err
	}
	defer in.Close()
	out, err := durable.CreateExcl(dst, 0o600)
	if err != nil {
		return true, err
	}
	defer out.Abort()
	if _, err := io.Copy(out, in); err != nil {
		return true, err
	}
	if err := out.Commit(dst); err != nil {
		return true, err
	}
	return true, os.Chtimes(dst, mtime, mtime)
}

func unstage(staged []stagedFile) {
	for _, s := range staged {
		os.Remove(s.tmp)
	}
}

// commitStaged renames the staged links into place and makes the renames durable.
func commitStaged(destDir string, staged []stagedFile) error {
	if len(staged) == 0 {
		return nil
	}
	var errs []error
	for _, s := range staged {
		if err := os.Rename(s.tmp, s.final); err != nil {
			errs = append(errs, err)
		}
	}
	for _, sub := range []string{"tmp", "new", "cur"} {
		if err := durable.SyncDir(filepath.Join(destDir, sub)); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// dryRunFolder fills fr with what an import would do, from the index as it is.
func (im *Importer) dryRunFolder(ctx context.Context, user string, f SourceFolder, fr *FolderReport) {
	mb, err := im.st.GetMailbox(ctx, user, f.Name)
	if errors.Is(err, store.ErrNotFound) {
		fr.Created, fr.Added = true, len(f.Messages)
		return
	}
	if err != nil {
		fr.Err = err.Error()
		return
	}
	if mb.UIDValidity != f.UIDValidity && (mb.Messages > 0 || mb.UIDNext > 1) {
		fr.Err = fmt.Sprintf("mailbox already holds mail under UIDVALIDITY %d (importing %d)", mb.UIDValidity, f.UIDValidity)
		return
	}
	have, err := im.st.ListMessages(ctx, mb.ID, 0)
	if err != nil {
		fr.Err = err.Error()
		return
	}
	uids := map[uint32]bool{}
	for _, m := range have {
		uids[m.UID] = true
	}
	for _, m := range f.Messages {
		if uids[m.UID] {
			fr.Kept++
		} else {
			fr.Added++
		}
	}
	fr.Created = mb.UIDValidity != f.UIDValidity
}
