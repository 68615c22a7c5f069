package imap

import (
	"context"
	"errors"
	"strings"

	goimap "github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapserver"

	"github.com/postern/postern/store"
	"github.com/postern/postern/store/maildir"
)

// mailboxName validates a client's mailbox name (already UTF-8: go-imap decodes
// modified UTF-7) and returns the canonical spelling. Both the store's rules (no empty,
// "." or ".." components, no wildcards) and the Maildir's (FolderDirName) must accept
// it, so no name can reach outside the user's Maildir.
func mailboxName(name string) (string, error) {
	name = strings.TrimSuffix(name, "/") // RFC 3501 6.3.3: a trailing delimiter is allowed
	n, err := store.NormalizeMailboxName(name)
	if err != nil {
		return "", err
	}
	if _, err := maildir.FolderDirName(n); err != nil {
		return "", err
	}
	return n, nil
}

func (ss *session) mustLogin() error {
	if ss.user == "" {
		return errors.New("imap: not logged in") // go-imap checks state first; never reached
	}
	return nil
}

// folderDir returns the directory of an existing mailbox.
func (ss *session) folderDir(name string) (string, error) {
	return ss.md.FolderDir(name)
}

func (ss *session) Create(ctx context.Context, name string, options *goimap.CreateOptions) (err error) {
	defer ss.recovered(&err)
	if err := ss.mustLogin(); err != nil {
		return err
	}
	n, err := mailboxName(name)
	if err != nil {
		return ss.imapError("create", err)
	}
	specialUse := ""
	if options != nil && len(options.SpecialUse) > 0 {
		// RFC 6154 section 3: one attribute per mailbox is all we keep.
		specialUse = string(options.SpecialUse[0])
		if len(options.SpecialUse) > 1 {
			return &goimap.Error{Type: goimap.StatusResponseTypeNo, Code: "USEATTR", Text: "Only one special-use attribute per mailbox"}
		}
	}
	// An IMAP CREATE does not subscribe (RFC 3501 6.3.3, 6.3.6; as Dovecot): the client
	// subscribes what it wants listed, and a subscription the name kept from an earlier
	// mailbox stays. The default folders and those made with `postern mailbox create`
	// are subscribed.
	if err := ss.srv.createMailbox(ctx, ss.user, ss.md, n, specialUse); err != nil {
		if errors.Is(err, store.ErrInvalid) && specialUse != "" {
			return &goimap.Error{Type: goimap.StatusResponseTypeNo, Code: "USEATTR", Text: "Unsupported special-use attribute"}
		}
		return ss.imapError("create", err)
	}
	return nil
}

func (ss *session) Delete(ctx context.Context, name string) (err error) {
	defer ss.recovered(&err)
	n, err := mailboxName(name)
	if err != nil {
		return ss.imapError("delete", err)
	}
	if n == store.InboxName {
		return &goimap.Error{Type: goimap.StatusResponseTypeNo, Code: goimap.ResponseCodeCannot, Text: "INBOX cannot be deleted"}
	}
	return ss.imapError("delete", ss.srv.deleteMailbox(ctx, ss.user, ss.md, n))
}

func (ss *session) Rename(ctx context.Context, w *imapserver.RenameWriter, oldName, newName string, options *goimap.RenameOptions) (err error) {
	defer ss.recovered(&err)
	from, err := mailboxName(oldName)
	if err != nil {
		return ss.imapError("rename", err)
	}
	to, err := mailboxName(newName)
	if err != nil {
		return ss.imapError("rename", err)
	}
	if from == store.InboxName || to == store.InboxName {
		// RFC 3501 6.3.5 gives renaming INBOX a special meaning (move its messages);
		// clients do not rely on it, so we refuse rather than half-implement it.
		return &goimap.Error{Type: goimap.StatusResponseTypeNo, Code: goimap.ResponseCodeCannot, Text: "INBOX cannot be renamed"}
	}
	return ss.imapError("rename", ss.srv.renameMailbox(ctx, ss.user, ss.md, from, to))
}

func (ss *session) Subscribe(ctx context.Context, name string) error {
	return ss.setSubscribed(ctx, name, true)
}

func (ss *session) Unsubscribe(ctx context.Context, name string) error {
	return ss.setSubscribed(ctx, name, false)
}

func (ss *session) setSubscribed(ctx context.Context, name string, on bool) (err error) {
	defer ss.recovered(&err)
	n, err := mailboxName(name)
	if err != nil {
		return ss.imapError("subscribe", err)
	}
	// Any valid name may be subscribed, a mailbox or not (RFC 3501 6.3.6).
	err = ss.srv.opts.Store.SetSubscribed(ctx, ss.user, n, on)
	switch {
	case errors.Is(err, store.ErrNotFound) && !on:
		return &goimap.Error{Type: goimap.StatusResponseTypeNo, Code: goimap.ResponseCodeNonExistent, Text: "Not subscribed"}
	case errors.Is(err, store.ErrLimit):
		return &goimap.Error{Type: goimap.StatusResponseTypeNo, Code: goimap.ResponseCodeLimit, Text: "Too many subscriptions"}
	}
	return ss.imapError("subscribe", err)
}

func (ss *session) Status(ctx context.Context, name string, options *goimap.StatusOptions) (data *goimap.StatusData, err error) {
	defer ss.recovered(&err)
	n, err := mailboxName(name)
	if err != nil {
		return nil, ss.imapError("status", err)
	}
	mb, err := ss.srv.opts.Store.GetMailbox(ctx, ss.user, n)
	if err != nil {
		return nil, ss.imapError("status", err)
	}
	if dir, err := ss.folderDir(n); err == nil {
		if changed, err := ss.srv.rescan(ctx, ss.user, n, dir); err == nil && changed {
			mb, err = ss.srv.opts.Store.GetMailbox(ctx, ss.user, n)
			if err != nil {
				return nil, ss.imapError("status", err)
			}
		}
	}
	d := statusData(mb, options)
	if options.NumRecent {
		// Counted above the \Recent floor, which STATUS does not move.
		if f := ss.srv.recent.floor(mb.ID, mb.UIDNext); f+1 < mb.UIDNext {
			n, err := ss.srv.opts.Store.CountMessagesAbove(ctx, mb.ID, f)
			if err != nil {
				return nil, ss.imapError("status", err)
			}
			*d.NumRecent = uint32(n)
		}
	}
	return d, nil
}

func statusData(mb store.Mailbox, o *goimap.StatusOptions) *goimap.StatusData {
	d := &goimap.StatusData{Mailbox: mb.Name}
	u32 := func(n int) *uint32 { v := uint32(n); return &v }
	if o.NumMessages {
		d.NumMessages = u32(mb.Messages)
	}
	if o.NumRecent {
		d.NumRecent = u32(0)
	}
	if o.UIDNext {
		d.UIDNext = goimap.UID(mb.UIDNext)
	}
	if o.UIDValidity {
		d.UIDValidity = mb.UIDValidity
	}
	if o.NumUnseen {
		d.NumUnseen = u32(mb.Unseen)
	}
	if o.Size {
		sz := mb.Size
		d.Size = &sz
	}
	if o.HighestModSeq {
		d.HighestModSeq = mb.HighestModSeq
	}
	if o.NumDeleted {
		d.NumDeleted = u32(0) // filled by the caller when it knows; rarely asked
	}
	return d
}
