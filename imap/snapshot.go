package imap

import (
	"context"
	"slices"
	"sync"
	"sync/atomic"

	goimap "github.com/emersion/go-imap/v2"

	"github.com/postern/postern/store"
)

// A snapshot is this process's in-memory copy of one mailbox's index: every message's
// UID, flags, MODSEQ, size, internal date and file name, and, filled as they are first
// needed, its decoded ENVELOPE and BODYSTRUCTURE. The sessions that have the mailbox
// selected share it, so FETCH, SEARCH, STORE and the post-command poll read memory
// instead of the database.
//
// Coherence: the snapshot records the mailbox counters (HIGHESTMODSEQ, UIDNEXT,
// UIDVALIDITY) it reflects. Before a command uses it, refresh reads the counters (one
// row); only if HIGHESTMODSEQ moved does it read the rows with a higher MODSEQ (new
// messages, flag changes) and the message count, in one read transaction. Expunges
// leave no row but bump HIGHESTMODSEQ, so a count below what the snapshot expects
// makes refresh read the UID list in the same transaction and drop what is gone.
// Another UIDVALIDITY means a full reload. Every writer of the index (this package,
// the delivery agent, a rescan, `postern reindex`) bumps HIGHESTMODSEQ, so nothing
// can change behind the snapshot's back.
//
// Views are immutable: a change makes a new slice and publishes it, so a FETCH
// iterating over 10,000 messages needs no lock and never sees half an update. A
// message's summary cell is shared between views (until its file's size or name
// changes) and filled through an atomic pointer.
//
// Memory: a snapshot lives while a session has its mailbox selected, and a few
// unreferenced ones are kept (least recently released first out) so that clients
// reconnecting to the same mailbox do not reload it.

// snapMsg is one message of a view.
type snapMsg struct {
	store.Message
	cell *summaryCell
}

// summaryCell holds what was learnt about one message file: its decoded summaries
// and where the file was last found.
type summaryCell struct {
	sum     atomic.Pointer[summaryData]
	path    atomic.Pointer[string]
	dbTried atomic.Bool // the index's message cache was asked for this message
}

// summaryData is immutable once stored in a cell.
type summaryData struct {
	env *goimap.Envelope
	bs  goimap.BodyStructure
}

func (c *summaryCell) load() *summaryData {
	if d := c.sum.Load(); d != nil {
		return d
	}
	return &summaryData{}
}

// merge stores env and/or bs (nil: keep what is there). Two racing merges may lose one
// half; that only costs a recomputation.
func (c *summaryCell) merge(env *goimap.Envelope, bs goimap.BodyStructure) {
	old := c.load()
	d := &summaryData{env: old.env, bs: old.bs}
	if env != nil {
		d.env = env
	}
	if bs != nil {
		d.bs = bs
	}
	c.sum.Store(d)
}

func (c *summaryCell) pathHint() string {
	if p := c.path.Load(); p != nil {
		return *p
	}
	return ""
}

// snapView is one published state of a snapshot.
type snapView struct {
	state store.MailboxState
	msgs  []snapMsg // in UID order
}

// find returns the index of uid in v.msgs.
func (v *snapView) find(uid uint32) (int, bool) {
	return slices.BinarySearchFunc(v.msgs, uid, func(m snapMsg, u uint32) int {
		switch {
		case m.UID < u:
			return -1
		case m.UID > u:
			return 1
		}
		return 0
	})
}

func (v *snapView) uids() []uint32 {
	out := make([]uint32, len(v.msgs))
	for i := range v.msgs {
		out[i] = v.msgs[i].UID
	}
	return out
}

// mailboxSnap is the snapshot of one mailbox.
type mailboxSnap struct {
	id    int64
	st    *store.Store
	state stateFunc
	mu    sync.Mutex // serialises loads, refreshes and applied changes
	view  atomic.Pointer[snapView]
	// uidList is the UID list a SELECT read while the rows were not loaded, with the
	// counters read before it: the next SELECT reuses it while they are unchanged.
	uidList atomic.Pointer[uidList]
	// unseen is the first unseen UID an IMAP4rev1 SELECT read from the index, with the
	// counters it was read at (any flag change moves HIGHESTMODSEQ).
	unseen atomic.Pointer[firstUnseenAt]
	refs   int // sessions holding it; guarded by snapshots.mu
}

type firstUnseenAt struct {
	state store.MailboxState
	uid   uint32
}

type uidList struct {
	state store.MailboxState
	uids  []uint32 // never modified
}

// loaded returns the current view without refreshing, nil if never loaded.
func (s *mailboxSnap) loaded() *snapView { return s.view.Load() }

// current brings the snapshot up to date with the index and returns it.
func (s *mailboxSnap) current(ctx context.Context) (*snapView, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	v := s.view.Load()
	if v == nil {
		return s.reload(ctx)
	}
	// The common case, nothing changed, costs one prepared single-row query.
	if st, err := s.state(ctx, s.id); err != nil {
		return nil, err
	} else if st == v.state {
		return v, nil
	}
	d, err := s.st.MailboxChangesSince(ctx, s.id, v.state.HighestModSeq, len(v.msgs), v.state.UIDNext)
	if err != nil {
		return nil, err
	}
	if d.State == v.state {
		return v, nil
	}
	if d.State.UIDValidity != v.state.UIDValidity {
		return s.reload(ctx)
	}
	nv := &snapView{state: d.State, msgs: mergeChanged(v.msgs, d.Changed, d.UIDs)}
	if d.UIDs != nil && len(nv.msgs) != len(d.UIDs) {
		// The index holds messages the snapshot never saw below its UIDNEXT: it
		// cannot be patched, so read it again.
		return s.reload(ctx)
	}
	s.view.Store(nv)
	return nv, nil
}

func (s *mailboxSnap) reload(ctx context.Context) (*snapView, error) {
	state, msgs, err := s.st.ListAllMessages(ctx, s.id)
	if err != nil {
		return nil, err
	}
	old := s.view.Load()
	nv := &snapView{state: state, msgs: make([]snapMsg, len(msgs))}
	for i, m := range msgs {
		nv.msgs[i] = snapMsg{Message: m, cell: reuseCell(old, m)}
	}
	s.view.Store(nv)
	return nv, nil
}

// reuseCell keeps the summary cell of the same file from an older view.
func reuseCell(old *snapView, m store.Message) *summaryCell {
	if old != nil {
		if i, ok := old.find(m.UID); ok && sameFile(old.msgs[i].Message, m) {
			return old.msgs[i].cell
		}
	}
	return &summaryCell{}
}

func sameFile(a, b store.Message) bool { return a.Filename == b.Filename && a.Size == b.Size }

// mergeChanged returns old with the changed rows applied (replaced or inserted) and,
// if uids is not nil (expunges happened), without the messages uids lacks.
func mergeChanged(old []snapMsg, changed []store.Message, uids []uint32) []snapMsg {
	out := make([]snapMsg, 0, len(old)+len(changed))
	i := 0
	for _, c := range changed {
		for i < len(old) && old[i].UID < c.UID {
			out = append(out, old[i])
			i++
		}
		cell := (*summaryCell)(nil)
		if i < len(old) && old[i].UID == c.UID {
			if sameFile(old[i].Message, c) {
				cell = old[i].cell
			}
			i++
		}
		if cell == nil {
			cell = &summaryCell{}
		}
		out = append(out, snapMsg{Message: c, cell: cell})
	}
	out = append(out, old[i:]...)
	if uids != nil {
		out = slices.DeleteFunc(out, func(m snapMsg) bool {
			_, ok := slices.BinarySearch(uids, m.UID)
			return !ok
		})
	}
	return out
}

// applyFlags records flag changes this process made (STORE) and committed, which
// moved the mailbox's HIGHESTMODSEQ from from to to, so the next refresh need not
// read them back. If the snapshot was up to date just before the change (at from) it
// is up to date after it (at to); otherwise it takes the changes but keeps its MODSEQ,
// and the next refresh reads what it missed.
func (s *mailboxSnap) applyFlags(changes map[uint32]flagChange, from, to uint64) {
	if len(changes) == 0 {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	v := s.view.Load()
	if v == nil {
		return
	}
	nv := &snapView{state: v.state, msgs: slices.Clone(v.msgs)}
	for uid, ch := range changes {
		if i, ok := nv.find(uid); ok && nv.msgs[i].ModSeq < ch.modseq {
			nv.msgs[i].Flags, nv.msgs[i].ModSeq = ch.flags, ch.modseq
		}
	}
	if v.state.HighestModSeq == from {
		nv.state.HighestModSeq = to
	}
	s.view.Store(nv)
}

// applyExpunge drops messages this process expunged (after the index commit), so the
// next refresh finds the count it expects and need not read the UID list.
func (s *mailboxSnap) applyExpunge(uids []uint32) {
	if len(uids) == 0 {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	v := s.view.Load()
	if v == nil {
		return
	}
	gone := slices.Sorted(slices.Values(uids))
	nv := &snapView{state: v.state, msgs: slices.DeleteFunc(slices.Clone(v.msgs), func(m snapMsg) bool {
		_, ok := slices.BinarySearch(gone, m.UID)
		return ok
	})}
	s.view.Store(nv)
}

// stateFunc reads a mailbox's counters.
type stateFunc func(ctx context.Context, mailboxID int64) (store.MailboxState, error)

// snapshots is the server's registry of mailbox snapshots, by mailbox id.
type snapshots struct {
	st      *store.Store
	state   stateFunc
	maxIdle int
	mu      sync.Mutex
	m       map[int64]*mailboxSnap
	idle    []*mailboxSnap // unreferenced, least recently released first
}

// acquire returns the snapshot of mailbox id, counting the caller as a holder until
// release.
func (r *snapshots) acquire(id int64) *mailboxSnap {
	r.mu.Lock()
	defer r.mu.Unlock()
	s := r.m[id]
	if s == nil {
		if r.m == nil {
			r.m = map[int64]*mailboxSnap{}
		}
		s = &mailboxSnap{id: id, st: r.st, state: r.state}
		r.m[id] = s
	}
	if s.refs == 0 {
		r.idle = slices.DeleteFunc(r.idle, func(x *mailboxSnap) bool { return x == s })
	}
	s.refs++
	return s
}

// release ends one holder's use. An unreferenced snapshot stays in memory while it is
// among the maxIdle most recently released ones.
func (r *snapshots) release(s *mailboxSnap) {
	r.mu.Lock()
	defer r.mu.Unlock()
	s.refs--
	if s.refs > 0 {
		return
	}
	r.idle = append(r.idle, s)
	for len(r.idle) > r.maxIdle {
		delete(r.m, r.idle[0].id)
		r.idle = r.idle[1:]
	}
}

// peek returns the snapshot of mailbox id if one is in memory, without holding it.
func (r *snapshots) peek(id int64) *mailboxSnap {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.m[id]
}
