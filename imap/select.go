package imap

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"slices"

	goimap "github.com/emersion/go-imap/v2"

	"github.com/postern/postern/store"
)

// selected is the state of the selected mailbox in one session: its sequence-number to
// UID map (uids[seq-1]), the MODSEQ up to which it has told the client about changes,
// and the mailbox's snapshot, shared with the other sessions that have it selected.
type selected struct {
	id          int64
	name        string
	dir         string
	readOnly    bool
	uidValidity uint32
	uids        []uint32
	modseq      uint64
	snap        *mailboxSnap
	// own holds the MODSEQs this session's own STOREs produced, so Poll does not echo
	// them back as unsolicited FETCHes.
	own map[uint32]uint64
	// expungePending says expunges happened while the client could not be told
	// (during FETCH, STORE, SEARCH; RFC 3501 section 7.4.1).
	expungePending bool
	notify         <-chan struct{}
	unsubscribe    func()
	saved          []uint32 // the SEARCHRES result ($, RFC 5182), as UIDs
	// recent are the UIDs that are \Recent in this session (recent.go), ascending.
	recent []uint32
	// announced are the keywords the client was told of in FLAGS (keywords.go).
	announced map[string]bool
}

// flagRecent is IMAP4rev1's session flag, which we never store (RFC 9051 dropped it).
const flagRecent = goimap.Flag(`\Recent`)

var systemFlags = []goimap.Flag{goimap.FlagSeen, goimap.FlagAnswered, goimap.FlagFlagged,
	goimap.FlagDeleted, goimap.FlagDraft}

func (ss *session) closeSelected() {
	if ss.sel != nil {
		ss.sel.unsubscribe()
		ss.srv.snaps.release(ss.sel.snap)
		ss.sel = nil
		ss.srv.sessions.update(ss, func(in *SessionInfo) { in.Mailbox = "" })
	}
}

func (ss *session) Select(ctx context.Context, name string, options *goimap.SelectOptions) (data *goimap.SelectData, err error) {
	defer ss.recovered(&err)
	ss.closeSelected()
	n, err := mailboxName(name)
	if err != nil {
		return nil, ss.imapError("select", err)
	}
	st := ss.srv.opts.Store
	dir, err := ss.folderDir(n)
	if err != nil {
		return nil, ss.imapError("select", err)
	}
	id, state, lookupErr := st.LookupMailbox(ctx, ss.user, n)
	if lookupErr != nil && !errors.Is(lookupErr, store.ErrNotFound) {
		return nil, ss.imapError("select", lookupErr)
	}
	// The rescan also tells whether the folder exists: a folder another Maildir tool
	// made is indexed by it; an indexed mailbox whose folder is missing gets an empty
	// one.
	changed, err := ss.srv.rescan(ctx, ss.user, n, dir)
	if errors.Is(err, fs.ErrNotExist) {
		if lookupErr != nil {
			return nil, ss.imapError("select", lookupErr)
		}
		if dir, err = ss.md.EnsureFolder(n); err == nil {
			changed, err = ss.srv.rescan(ctx, ss.user, n, dir)
		}
	}
	if err != nil {
		return nil, ss.imapError("select", err)
	}
	if lookupErr != nil || changed {
		if id, state, err = st.LookupMailbox(ctx, ss.user, n); err != nil {
			return nil, ss.imapError("select", err)
		}
	}
	snap := ss.srv.snaps.acquire(id)
	uids, state, err := ss.selectUIDs(ctx, snap, state)
	if err != nil {
		ss.srv.snaps.release(snap)
		return nil, ss.imapError("select", err)
	}
	sel := &selected{
		id: id, name: n, dir: dir, readOnly: options != nil && options.ReadOnly,
		uidValidity: state.UIDValidity, uids: uids, modseq: state.HighestModSeq,
		own: map[uint32]uint64{}, snap: snap,
	}
	sel.notify, sel.unsubscribe = ss.srv.hub.subscribe(ss.user, n)
	ss.sel = sel
	ss.srv.sessions.update(ss, func(in *SessionInfo) { in.Mailbox = n })
	flags := ss.mailboxFlags(dir)
	sel.announce(flags)
	sel.recent = ss.srv.recent.above(id, state.UIDNext, uids, !sel.readOnly)
	data = &goimap.SelectData{
		Flags:          flags,
		PermanentFlags: append(slices.Clone(flags), goimap.FlagWildcard),
		ReadOnly:       sel.readOnly,
		NumMessages:    uint32(len(uids)),
		NumRecent:      uint32(len(sel.recent)),
		UIDNext:        goimap.UID(state.UIDNext),
		UIDValidity:    state.UIDValidity,
		HighestModSeq:  state.HighestModSeq,
		// No List: the fork deadlocks writing SelectData.List (it takes the
		// connection's encoder lock twice); the LIST reply is optional (RFC 9051 7.3.1).
	}
	if ss.rev1() {
		if data.FirstUnseenSeqNum, err = ss.firstUnseen(ctx, sel, state); err != nil {
			ss.closeSelected()
			return nil, ss.imapError("select", err)
		}
	}
	ss.condstoreTold = ss.conn != nil && ss.conn.CondStoreEnabled() // SELECT sends HIGHESTMODSEQ
	if options != nil && options.QResync != nil {
		if err := ss.qresyncSelect(ctx, sel, options.QResync, data); err != nil {
			ss.closeSelected()
			return nil, ss.imapError("select", err)
		}
	}
	return data, nil
}

// selectUIDs returns the sequence-number map and counters for a new selection: from
// the snapshot when it is loaded, else just the UID list (the rows load on first
// use), so SELECT stays cheap on a big mailbox. state was read before; a UID list
// read after a state stays valid while the mailbox's counters equal that state, so
// selecting an unchanged mailbox again does not read the list again.
func (ss *session) selectUIDs(ctx context.Context, snap *mailboxSnap, state store.MailboxState) ([]uint32, store.MailboxState, error) {
	if snap.loaded() != nil {
		v, err := snap.current(ctx)
		if err != nil {
			return nil, state, err
		}
		return v.uids(), v.state, nil
	}
	if l := snap.uidList.Load(); l != nil && l.state == state {
		return slices.Clone(l.uids), state, nil
	}
	uids, err := ss.srv.opts.Store.MessageUIDs(ctx, snap.id)
	if err != nil {
		return nil, state, err
	}
	snap.uidList.Store(&uidList{state: state, uids: uids})
	return slices.Clone(uids), state, nil
}

// firstUnseen is the sequence number of the first message without \Seen (0: none),
// for IMAP4rev1's UNSEEN code: from the snapshot when it is loaded, else from the index
// (one query, remembered while the mailbox's counters stay as they are).
func (ss *session) firstUnseen(ctx context.Context, sel *selected, state store.MailboxState) (uint32, error) {
	var uid uint32
	if v := sel.snap.loaded(); v != nil && v.state.HighestModSeq == sel.modseq {
		for _, m := range v.msgs {
			if !containsFold(m.Flags, string(goimap.FlagSeen)) {
				uid = m.UID
				break
			}
		}
	} else if c := sel.snap.unseen.Load(); c != nil && c.state == state {
		uid = c.uid
	} else {
		var err error
		if uid, err = ss.srv.opts.Store.FirstUnseenUID(ctx, sel.id); err != nil {
			return 0, err
		}
		sel.snap.unseen.Store(&firstUnseenAt{state: state, uid: uid})
	}
	if i, ok := slices.BinarySearch(sel.uids, uid); ok && uid != 0 {
		return uint32(i + 1), nil
	}
	return 0, nil
}

// mailboxFlags are the system flags plus the folder's keywords (dovecot-keywords).
func (ss *session) mailboxFlags(dir string) []goimap.Flag {
	flags := slices.Clone(systemFlags)
	kw, err := ss.srv.keywords.load(dir)
	if err != nil {
		ss.log.Warn("imap: keywords", "dir", dir, "err", err)
		return flags
	}
	for _, k := range kw.Names() {
		flags = append(flags, goimap.Flag(k))
	}
	return flags
}

// requireSelected returns the selected mailbox; go-imap only calls selected-state
// methods in selected state, so nil here is a bug.
func (ss *session) requireSelected() (*selected, error) {
	if ss.sel == nil {
		return nil, fmt.Errorf("imap: no mailbox selected")
	}
	return ss.sel, nil
}

func (ss *session) readOnlyError() error {
	return &goimap.Error{Type: goimap.StatusResponseTypeNo, Code: goimap.ResponseCodeCannot, Text: "Mailbox is read-only (EXAMINE)"}
}
