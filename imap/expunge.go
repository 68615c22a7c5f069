package imap

import (
	"context"
	"slices"

	goimap "github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapserver"

	"github.com/postern/postern/store/maildir"
)

// Expunge removes the messages flagged \Deleted (EXPUNGE), or only those of them in
// uids (UID EXPUNGE, RFC 4315 2.1): files first, then the index.
func (ss *session) Expunge(ctx context.Context, w *imapserver.ExpungeWriter, uids *goimap.UIDSet) (err error) {
	defer ss.recovered(&err)
	sel, err := ss.requireSelected()
	if err != nil {
		return err
	}
	if sel.readOnly {
		return ss.readOnlyError()
	}
	var idx []int
	if uids != nil {
		idx = sel.resolve(*uids)
	} else {
		idx = sel.resolve(goimap.SeqSet{{Start: 1, Stop: 0}})
	}
	msgs, _, err := ss.pick(ctx, sel, idx)
	if err != nil {
		return ss.imapError("expunge", err)
	}
	var doomed []snapMsg
	for _, m := range msgs {
		if containsFold(m.Flags, maildir.FlagDeleted) {
			doomed = append(doomed, m)
		}
	}
	if err := ss.removeMessages(ctx, sel, doomed); err != nil {
		return ss.imapError("expunge", err)
	}
	return ss.writeExpunges(sel, doomed, w.WriteExpunge)
}

// removeMessages deletes the files and index rows of msgs, drops them from the
// snapshot and wakes other sessions.
func (ss *session) removeMessages(ctx context.Context, sel *selected, msgs []snapMsg) error {
	if len(msgs) == 0 {
		return nil
	}
	unlock := ss.srv.locks.lock(ss.user)
	defer unlock()
	uids, err := ss.srv.removeFiles(sel.dir, msgs)
	if err != nil {
		return err
	}
	if _, err := ss.srv.opts.Store.RemoveMessages(ctx, sel.id, uids); err != nil {
		return err
	}
	sel.snap.applyExpunge(uids)
	ss.srv.hub.notify(ss.user, sel.name, sel.notify)
	return nil
}

// writeExpunges drops msgs from the session's map and reports each with its sequence
// number at the moment it is sent (highest first, so earlier ones do not shift).
func (ss *session) writeExpunges(sel *selected, msgs []snapMsg, write func(uint32) error) error {
	if ss.deferExpunges(sel) {
		return nil // QRESYNC: the poll before the tagged OK says VANISHED
	}
	for i := len(msgs) - 1; i >= 0; i-- {
		seq, ok := slices.BinarySearch(sel.uids, msgs[i].UID)
		if !ok {
			continue
		}
		sel.uids = slices.Delete(sel.uids, seq, seq+1)
		if err := write(uint32(seq + 1)); err != nil {
			return err
		}
	}
	return nil
}
