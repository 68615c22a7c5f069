package imap

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"time"

	"github.com/postern/postern/store"
	"github.com/postern/postern/store/maildir"
)

// The owner's mailbox commands (postern mailbox ...) go through the IMAP server rather
// than to the store and the Maildir directly: they take the same per-user lock as the
// sessions' own writes, and the sessions that have the mailbox selected are woken, so
// an expunge is announced to them (EXPUNGE or VANISHED) as if another client had made it.

// normalizedUser is the canonical spelling of an address, or the input if it is not one.
func normalizedUser(user string) string {
	if a, err := store.NormalizeAddress(user); err == nil {
		return a
	}
	return user
}

func (s *Server) userMaildir(user string) *maildir.Maildir {
	return &maildir.Maildir{Root: s.opts.MaildirRoot(user), Namer: s.opts.Namer}
}

// CreateMailbox creates a mailbox (folder and index row) for user and subscribes it (an
// owner's folder should show in every client); specialUse is an RFC 6154 attribute such
// as `\Archive`, or "".
func (s *Server) CreateMailbox(ctx context.Context, user, name, specialUse string) error {
	n, err := mailboxName(name)
	if err != nil {
		return err
	}
	user = normalizedUser(user)
	if _, err := s.opts.Store.GetUser(ctx, user); err != nil {
		return err
	}
	if err := maildir.Create(s.opts.MaildirRoot(user)); err != nil {
		return err
	}
	if err := s.createMailbox(ctx, user, s.userMaildir(user), n, specialUse); err != nil {
		return err
	}
	return s.opts.Store.SetSubscribed(ctx, user, n, true)
}

func (s *Server) createMailbox(ctx context.Context, user string, md *maildir.Maildir, n, specialUse string) error {
	if n == store.InboxName {
		return fmt.Errorf("INBOX: %w", store.ErrExists)
	}
	unlock := s.locks.lock(user)
	defer unlock()
	if _, err := s.opts.Store.GetMailbox(ctx, user, n); err == nil {
		return fmt.Errorf("%q: %w", n, store.ErrExists)
	}
	if _, err := md.EnsureFolder(n); err != nil {
		return err
	}
	mb, err := s.opts.Store.CreateMailbox(ctx, user, n, specialUse)
	if err == nil {
		s.recent.created(mb.ID) // all its mail will be \Recent
	}
	return err
}

// DeleteMailbox deletes a mailbox of user with its messages; INBOX cannot be deleted.
func (s *Server) DeleteMailbox(ctx context.Context, user, name string) error {
	n, err := mailboxName(name)
	if err != nil {
		return err
	}
	user = normalizedUser(user)
	return s.deleteMailbox(ctx, user, s.userMaildir(user), n)
}

func (s *Server) deleteMailbox(ctx context.Context, user string, md *maildir.Maildir, n string) error {
	if n == store.InboxName {
		return fmt.Errorf("%w: INBOX cannot be deleted", store.ErrInvalid)
	}
	unlock := s.locks.lock(user)
	defer unlock()
	id, _, err := s.opts.Store.LookupMailbox(ctx, user, n)
	if err != nil {
		return err
	}
	if err := s.opts.Store.DeleteMailbox(ctx, user, n); err != nil {
		return err
	}
	s.recent.forget(id)
	if err := md.DeleteFolder(n); err != nil && !errors.Is(err, maildir.ErrNoFolder) {
		return err
	}
	s.hub.notify(user, n, nil)
	return nil
}

// RenameMailbox renames a mailbox of user and the mailboxes below it; INBOX cannot be
// renamed.
func (s *Server) RenameMailbox(ctx context.Context, user, oldName, newName string) error {
	from, err := mailboxName(oldName)
	if err != nil {
		return err
	}
	to, err := mailboxName(newName)
	if err != nil {
		return err
	}
	user = normalizedUser(user)
	return s.renameMailbox(ctx, user, s.userMaildir(user), from, to)
}

func (s *Server) renameMailbox(ctx context.Context, user string, md *maildir.Maildir, from, to string) error {
	if from == store.InboxName || to == store.InboxName {
		return fmt.Errorf("%w: INBOX cannot be renamed", store.ErrInvalid)
	}
	unlock := s.locks.lock(user)
	defer unlock()
	if _, err := s.opts.Store.GetMailbox(ctx, user, from); err != nil {
		return err
	}
	if err := md.RenameFolder(from, to); err != nil && !errors.Is(err, maildir.ErrNoFolder) {
		return err
	}
	if err := s.opts.Store.RenameMailbox(ctx, user, from, to); err != nil {
		// Put the folders back so disk and index agree again.
		if rerr := md.RenameFolder(to, from); rerr != nil {
			s.log.Error("imap: rename: undo", "user", user, "from", to, "to", from, "err", rerr)
		}
		return err
	}
	s.hub.notify(user, from, nil)
	return nil
}

// ExpungeBefore removes the messages of one mailbox whose internal date (arrival) is
// before cutoff: files first, then the index; the sessions that have it selected are
// told. It returns how many messages it removed.
func (s *Server) ExpungeBefore(ctx context.Context, user, name string, cutoff time.Time) (int, error) {
	n, err := mailboxName(name)
	if err != nil {
		return 0, err
	}
	user = normalizedUser(user)
	md := s.userMaildir(user)
	dir, err := md.FolderDir(n)
	if err != nil {
		return 0, err
	}
	if _, err := s.rescan(ctx, user, n, dir); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return 0, err
	}
	mb, err := s.opts.Store.GetMailbox(ctx, user, n)
	if err != nil {
		return 0, err
	}
	unlock := s.locks.lock(user)
	defer unlock()
	msgs, err := s.opts.Store.ListMessages(ctx, mb.ID, 0)
	if err != nil {
		return 0, err
	}
	var doomed []snapMsg
	for _, m := range msgs {
		if m.InternalDate.Before(cutoff) {
			doomed = append(doomed, snapMsg{Message: m, cell: &summaryCell{}})
		}
	}
	if len(doomed) == 0 {
		return 0, nil
	}
	uids, err := s.removeFiles(dir, doomed)
	if err != nil {
		return 0, err
	}
	removed, err := s.opts.Store.RemoveMessages(ctx, mb.ID, uids)
	if err != nil {
		return 0, err
	}
	if snap := s.snaps.peek(mb.ID); snap != nil {
		snap.applyExpunge(uids)
	}
	s.hub.notify(user, n, nil)
	return removed, nil
}

// removeFiles deletes the files of msgs in dir (already gone is fine) and returns their
// UIDs. The caller holds the user's lock.
func (s *Server) removeFiles(dir string, msgs []snapMsg) ([]uint32, error) {
	f, err := s.newFolder(dir)
	if err != nil {
		return nil, err
	}
	own := s.beginOwnChange(dir)
	defer own.done()
	uids := make([]uint32, 0, len(msgs))
	for _, m := range msgs {
		if _, err := f.withPath(m, maildir.Remove); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return nil, err
		}
		uids = append(uids, m.UID)
	}
	return uids, nil
}
