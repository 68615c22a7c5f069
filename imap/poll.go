package imap

import (
	"context"
	"slices"
	"time"

	goimap "github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapserver"
)

// idleRecheck is how often an IDLE session looks at the Maildir for files dropped in
// by other programs (deliveries by postern itself wake it at once through the hub), and
// sends a keepalive so NAT boxes keep the connection.
const idleRecheck = 30 * time.Second

// Poll tells the client what changed in the selected mailbox since it last heard:
// new messages (EXISTS), flag changes from other sessions (FETCH FLAGS) and, when
// allowed, expunges. go-imap calls it after every command and on NOOP. The changes
// come from the mailbox's snapshot; when the snapshot is not loaded and the mailbox's
// HIGHESTMODSEQ has not moved, one row is read and nothing else.
func (ss *session) Poll(ctx context.Context, w *imapserver.UpdateWriter, allowExpunge bool) (err error) {
	defer ss.recovered(&err)
	sel := ss.sel
	if sel == nil {
		return nil
	}
	fresh := ss.fresh
	ss.fresh = false
	// After a command that read messages (FETCH, STORE, SEARCH...) the folder is
	// stat'ed at most once per RescanInterval; after any other command (NOOP, SELECT,
	// IDLE...) always, so mail another program drops in shows up at the next NOOP.
	if !fresh || !ss.srv.dirs.checkedWithin(sel.dir, ss.srv.opts.Now(), ss.srv.opts.RescanInterval) {
		if _, err := ss.srv.rescan(ctx, ss.user, sel.name, sel.dir); err != nil {
			ss.log.Warn("imap: rescan", "mailbox", sel.name, "err", err)
		}
	}
	pending := allowExpunge && sel.expungePending
	v := sel.snap.loaded()
	switch {
	case v != nil && fresh:
		// The command itself brought the snapshot up to date a moment ago; what
		// changed since is reported after the next command.
	case v == nil:
		state, err := ss.srv.mailboxState(ctx, sel.id)
		if err != nil {
			return ss.imapError("poll", err)
		}
		if state.HighestModSeq == sel.modseq && state.UIDValidity == sel.uidValidity && !pending {
			return nil
		}
		fallthrough
	default:
		if v, err = sel.snap.current(ctx); err != nil {
			return ss.imapError("poll", err)
		}
	}
	if v.state.UIDValidity != sel.uidValidity {
		// The index was renumbered (UIDs exhausted): the client must start over.
		return ss.conn.Bye("Mailbox UIDVALIDITY changed; please reselect")
	}
	if v.state.HighestModSeq == sel.modseq && !pending {
		return nil
	}
	if err := ss.reportExpunges(w, sel, v, allowExpunge); err != nil {
		return err
	}
	// New messages: UIDs above the highest this session knows.
	last := uint32(0)
	if len(sel.uids) > 0 {
		last = sel.uids[len(sel.uids)-1]
	}
	i, _ := v.find(last + 1)
	first := len(sel.uids)
	for ; i < len(v.msgs); i++ {
		sel.uids = append(sel.uids, v.msgs[i].UID)
	}
	if len(sel.uids) > first {
		if err := w.WriteNumMessages(uint32(len(sel.uids))); err != nil {
			return err
		}
		n := sel.addRecent(&ss.srv.recent, v.state.UIDNext, sel.uids[first:])
		if err := w.WriteNumRecent(n); err != nil {
			return err
		}
	}
	showRecent := ss.recentShown(sel)
	for _, m := range v.msgs {
		if m.ModSeq <= sel.modseq || m.UID > last || sel.own[m.UID] == m.ModSeq {
			continue
		}
		seq, ok := slices.BinarySearch(sel.uids, m.UID)
		if !ok {
			continue
		}
		if err := ss.announceKeywords(w, sel, m.Flags); err != nil {
			return err
		}
		if err := w.WriteMessageFlags(uint32(seq+1), goimap.UID(m.UID), sel.flagsOf(m.UID, m.Flags, showRecent), m.ModSeq); err != nil {
			return err
		}
	}
	clear(sel.own)
	sel.modseq = v.state.HighestModSeq
	return nil
}

// reportExpunges drops UIDs the snapshot no longer has from the session's map,
// telling the client with EXPUNGE when it may be told; otherwise it remembers to do
// so later.
func (ss *session) reportExpunges(w *imapserver.UpdateWriter, sel *selected, v *snapView, allowed bool) error {
	if !sel.expungePending && len(sel.uids) <= len(v.msgs) {
		// Cheap test first: UIDs only grow, so if every old UID is still there the
		// old list is a prefix of the new one.
		if len(sel.uids) == 0 || v.msgs[len(sel.uids)-1].UID == sel.uids[len(sel.uids)-1] {
			return nil
		}
	}
	gone := false
	report := ss.newExpungeReport(w)
	for i := len(sel.uids) - 1; i >= 0; i-- {
		if _, ok := v.find(sel.uids[i]); ok {
			continue
		}
		if !allowed {
			gone = true
			continue
		}
		// Highest sequence number first, so each one is valid when sent.
		if err := report.expunge(uint32(i+1), sel.uids[i]); err != nil {
			return err
		}
		sel.uids = slices.Delete(sel.uids, i, i+1)
	}
	sel.expungePending = gone
	return report.flush()
}

// Idle waits for changes and reports them at once (RFC 2177): the hub wakes it when
// another session or a delivery changes the mailbox.
func (ss *session) Idle(ctx context.Context, w *imapserver.UpdateWriter, stop <-chan struct{}) error {
	if err := ss.Poll(ctx, w, true); err != nil {
		return err
	}
	var notify <-chan struct{}
	if ss.sel != nil {
		notify = ss.sel.notify
	}
	t := time.NewTicker(idleRecheck)
	defer t.Stop()
	for {
		select {
		case <-stop:
			return nil
		case <-ctx.Done():
			return nil
		case <-notify:
		case <-t.C:
			if err := w.WriteOK("Still here"); err != nil {
				return err
			}
		}
		if err := ss.Poll(ctx, w, true); err != nil {
			return err
		}
	}
}

func toFlags(fs []string) []goimap.Flag {
	out := make([]goimap.Flag, len(fs))
	for i, f := range fs {
		out[i] = goimap.Flag(f)
	}
	return out
}

func fromFlags(fs []goimap.Flag) []string {
	out := make([]string, 0, len(fs))
	for _, f := range fs {
		if f == flagRecent || f == "" {
			continue // \Recent cannot be stored (RFC 3501 6.4.6)
		}
		out = append(out, string(f))
	}
	return out
}
