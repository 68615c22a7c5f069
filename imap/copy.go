package imap

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"strings"

	goimap "github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapserver"

	"github.com/postern/postern/store"
	"github.com/postern/postern/store/maildir"
)

// Copy copies messages to another mailbox (COPY, RFC 3501 6.4.7) as hard links under
// new names, keeping flags and INTERNALDATE, and answers with COPYUID (RFC 4315).
func (ss *session) Copy(ctx context.Context, numSet goimap.NumSet, dest string) (data *goimap.CopyData, err error) {
	defer ss.recovered(&err)
	sel, err := ss.requireSelected()
	if err != nil {
		return nil, err
	}
	data, _, err = ss.copyTo(ctx, sel, numSet, dest, true)
	return data, err
}

// Move moves messages (MOVE, RFC 6851): copy, then expunge from the source, reporting
// COPYUID before the EXPUNGEs.
func (ss *session) Move(ctx context.Context, w *imapserver.MoveWriter, numSet goimap.NumSet, dest string) (err error) {
	defer ss.recovered(&err)
	sel, err := ss.requireSelected()
	if err != nil {
		return err
	}
	if sel.readOnly {
		return ss.readOnlyError()
	}
	// A move adds nothing to the user's usage once done, so no quota check.
	data, moved, err := ss.copyTo(ctx, sel, numSet, dest, false)
	if err != nil {
		return err
	}
	if err := ss.removeMessages(ctx, sel, moved); err != nil {
		return ss.imapError("move", err)
	}
	if err := w.WriteCopyData(data); err != nil {
		return err
	}
	return ss.writeExpunges(sel, moved, w.WriteExpunge)
}

func (ss *session) copyTo(ctx context.Context, sel *selected, numSet goimap.NumSet, dest string, quota bool) (*goimap.CopyData, []snapMsg, error) {
	n, err := mailboxName(dest)
	if err != nil {
		return nil, nil, ss.imapError("copy", err)
	}
	st := ss.srv.opts.Store
	mb, err := st.GetMailbox(ctx, ss.user, n)
	if err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return nil, nil, &goimap.Error{Type: goimap.StatusResponseTypeNo, Code: goimap.ResponseCodeTryCreate, Text: "No such mailbox"}
		}
		return nil, nil, ss.imapError("copy", err)
	}
	ss.srv.recent.floor(mb.ID, mb.UIDNext) // met before the copies: they will be \Recent
	msgs, _, err := ss.pick(ctx, sel, sel.resolve(numSet))
	if err != nil {
		return nil, nil, ss.imapError("copy", err)
	}
	var total int64
	for _, m := range msgs {
		total += m.Size
	}
	if quota {
		if err := ss.checkQuota(ctx, total); err != nil {
			return nil, nil, err
		}
	}
	if _, err := ss.md.EnsureFolder(n); err != nil {
		return nil, nil, ss.imapError("copy", err)
	}
	unlock := ss.srv.locks.lock(ss.user)
	defer unlock()
	f, err := ss.srv.newFolder(sel.dir)
	if err != nil {
		return nil, nil, ss.imapError("copy", err)
	}
	var recs []store.NewMessage
	var made []string
	var copied []snapMsg
	undo := func() {
		for _, p := range made {
			_ = removeFile(p)
		}
	}
	for _, m := range msgs {
		var d maildir.Delivered
		_, err := f.withPath(m, func(p string) error {
			var err error
			d, err = ss.md.Copy(p, n, m.Flags)
			return err
		})
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			undo()
			return nil, nil, ss.imapError("copy", err)
		}
		made = append(made, d.Path)
		base, _ := maildir.SplitInfo(d.Name)
		recs = append(recs, store.NewMessage{User: ss.user, Mailbox: n, Filename: base, Size: m.Size,
			InternalDate: m.InternalDate, Flags: m.Flags})
		copied = append(copied, m)
	}
	data := &goimap.CopyData{}
	if len(recs) == 0 {
		return data, nil, nil
	}
	added, err := st.AddMessages(ctx, recs)
	if err != nil {
		undo()
		return nil, nil, ss.imapError("copy", err)
	}
	// The copies have the same bytes: they share the originals' cached summaries.
	names := make(map[string]string, len(recs))
	for i, r := range recs {
		names[copied[i].Filename] = r.Filename
	}
	if err := st.CopyMessageCache(ctx, sel.id, added[0].MailboxID, names); err != nil {
		ss.log.Warn("imap: copying message summaries", "user", ss.user, "err", err)
	}
	data.UIDValidity = added[0].UIDValidity
	for i, a := range added {
		data.SourceUIDs.AddNum(goimap.UID(copied[i].UID))
		data.DestUIDs.AddNum(goimap.UID(a.UID))
	}
	ss.srv.hub.notify(ss.user, n, nil)
	if n == sel.name {
		ss.fresh = false // the copies arrived after pick: the poll must look again
	}
	ss.learnCopied(ctx, sel.name, n, made)
	ss.sieveAdded(CauseCopy, sel.name, n, added)
	return data, copied, nil
}

func removeFile(p string) error {
	err := os.Remove(p)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	return err
}

func indexByte(s string, c byte) int { return strings.IndexByte(s, c) }
