package imap

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/postern/postern/store"
	"github.com/postern/postern/store/maildir"
)

// SieveOutcome is what the scripts of one IMAP event decided for its message
// (RFC 6785 section 3.5): its flags, copies into other mailboxes, and whether
// it stays where it is.
type SieveOutcome struct {
	SetFlags bool     // replace the message's flags with Flags
	Flags    []string // the message's flags after the run (imap4flags)
	FileInto []SieveCopy
	Remove   bool // no keep: the message leaves the mailbox (expunged)
}

// SieveCopy is one fileinto: a copy of the message into Mailbox with Flags.
type SieveCopy struct {
	Mailbox string
	Flags   []string
	Create  bool // :create: make the mailbox when it is missing
}

// SieveMessage finds the file of the message an event is about, and its flags now.
// fs.ErrNotExist: the message is gone (expunged since the event).
func (s *Server) SieveMessage(ctx context.Context, user, mailbox string, uid uint32) (path string, flags []string, err error) {
	user = normalizedUser(user)
	dir, msg, err := s.sieveTarget(ctx, user, mailbox, uid)
	if err != nil {
		return "", nil, err
	}
	f, err := s.newFolder(dir)
	if err != nil {
		return "", nil, err
	}
	path, err = f.withPath(msg, func(p string) error {
		_, err := os.Stat(p)
		return err
	})
	return path, msg.Flags, err
}

// ApplySieve carries out an outcome on the message user's mailbox has under uid: the
// copies first (a failed copy leaves the message where it is), then the flags, then
// the removal. Sessions with the mailboxes selected are told. None of this is an IMAP
// event itself: a script's flag change does not run the scripts again.
func (s *Server) ApplySieve(ctx context.Context, user, mailbox string, uid uint32, o SieveOutcome) error {
	user = normalizedUser(user)
	dir, msg, err := s.sieveTarget(ctx, user, mailbox, uid)
	if err != nil {
		return err
	}
	for _, c := range o.FileInto {
		if err := s.sieveCopy(ctx, user, dir, msg, c); err != nil {
			return fmt.Errorf("fileinto %q: %w", c.Mailbox, err)
		}
	}
	if o.Remove {
		return s.sieveRemove(ctx, user, mailbox, dir, msg)
	}
	if o.SetFlags && !sameFlags(o.Flags, msg.Flags) {
		return s.sieveSetFlags(ctx, user, mailbox, dir, msg, o.Flags)
	}
	return nil
}

// sieveTarget reads the message's index entry; fs.ErrNotExist when it has gone.
func (s *Server) sieveTarget(ctx context.Context, user, mailbox string, uid uint32) (string, snapMsg, error) {
	mb, err := s.opts.Store.GetMailbox(ctx, user, mailbox)
	if err != nil {
		if errors.Is(err, store.ErrNotFound) {
			err = fs.ErrNotExist
		}
		return "", snapMsg{}, fmt.Errorf("mailbox %q: %w", mailbox, err)
	}
	dir, err := s.userMaildir(user).FolderDir(mailbox)
	if err != nil {
		return "", snapMsg{}, err
	}
	msgs, err := s.opts.Store.ListMessagesRange(ctx, mb.ID, uid, uid)
	if err != nil {
		return "", snapMsg{}, err
	}
	if len(msgs) == 0 {
		return "", snapMsg{}, fmt.Errorf("UID %d in %q: %w", uid, mailbox, fs.ErrNotExist)
	}
	return dir, snapMsg{Message: msgs[0], cell: &summaryCell{}}, nil
}

func (s *Server) sieveCopy(ctx context.Context, user, dir string, msg snapMsg, c SieveCopy) error {
	n, err := mailboxName(c.Mailbox)
	if err != nil {
		return err
	}
	md := s.userMaildir(user)
	mb, err := s.opts.Store.GetMailbox(ctx, user, n)
	if errors.Is(err, store.ErrNotFound) && c.Create {
		if err = s.createMailbox(ctx, user, md, n, ""); err == nil || errors.Is(err, store.ErrExists) {
			mb, err = s.opts.Store.GetMailbox(ctx, user, n)
		}
	}
	if err != nil {
		return err
	}
	s.recent.floor(mb.ID, mb.UIDNext)
	if _, err := md.EnsureFolder(n); err != nil {
		return err
	}
	unlock := s.locks.lock(user)
	defer unlock()
	f, err := s.newFolder(dir)
	if err != nil {
		return err
	}
	var d maildir.Delivered
	if _, err := f.withPath(msg, func(p string) error {
		var err error
		d, err = md.Copy(p, n, c.Flags)
		return err
	}); err != nil {
		return err
	}
	base, _ := maildir.SplitInfo(d.Name)
	if _, err := s.opts.Store.AddMessages(ctx, []store.NewMessage{{User: user, Mailbox: n, Filename: base,
		Size: msg.Size, InternalDate: msg.InternalDate, Flags: c.Flags}}); err != nil {
		_ = removeFile(d.Path)
		return err
	}
	s.hub.notify(user, n, nil)
	return nil
}

func (s *Server) sieveSetFlags(ctx context.Context, user, mailbox, dir string, msg snapMsg, want []string) (err error) {
	unlock := s.locks.lock(user)
	defer unlock()
	f, err := s.newFolder(dir)
	if err != nil {
		return err
	}
	ren, err := maildir.NewFlagRenamer(dir, f.kw)
	if err != nil {
		return err
	}
	own := s.beginOwnChange(dir)
	defer own.done()
	var newPath string
	if _, err := f.withPath(msg, func(p string) error {
		var err error
		newPath, err = ren.SetFlags(p, want)
		return err
	}); err != nil {
		return err
	}
	_, stored := maildir.ParseInfo(filepath.Base(newPath), ren.Keywords())
	res, err := s.opts.Store.SetFlagsBatch(ctx, msg.MailboxID, []store.FlagUpdate{{UID: msg.UID, Flags: stored}})
	if err != nil {
		return err
	}
	if snap := s.snaps.peek(msg.MailboxID); snap != nil {
		snap.applyFlags(map[uint32]flagChange{msg.UID: {flags: stored, modseq: res.ModSeqs[msg.UID]}}, res.From, res.To)
	}
	s.hub.notify(user, mailbox, nil)
	return nil
}

func (s *Server) sieveRemove(ctx context.Context, user, mailbox, dir string, msg snapMsg) error {
	unlock := s.locks.lock(user)
	defer unlock()
	uids, err := s.removeFiles(dir, []snapMsg{msg})
	if err != nil {
		return err
	}
	if _, err := s.opts.Store.RemoveMessages(ctx, msg.MailboxID, uids); err != nil {
		return err
	}
	if snap := s.snaps.peek(msg.MailboxID); snap != nil {
		snap.applyExpunge(uids)
	}
	s.hub.notify(user, mailbox, nil)
	return nil
}
