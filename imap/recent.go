package imap

import (
	"slices"
	"sync"

	goimap "github.com/emersion/go-imap/v2"
)

// recentFloors keeps IMAP4rev1's \Recent (RFC 3501 2.3.2): a message is recent in the
// one session that is first told about it with its mailbox selected read-write. Per
// mailbox it holds the highest UID some session has taken; a SELECT, or a poll that
// reports new mail, takes the UIDs above it. EXAMINE and STATUS look without taking.
//
// The floors live in memory only (RFC 9051 dropped \Recent; no client we know relies
// on it across a restart): a mailbox first met after a restart starts with nothing
// recent, except one created in this process, where everything is.
type recentFloors struct {
	mu sync.Mutex
	m  map[int64]uint32
}

// floor returns the mailbox's floor, registering it at uidNext-1 (nothing recent) when
// this process has not met it yet.
func (r *recentFloors) floor(id int64, uidNext uint32) uint32 {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.floorLocked(id, uidNext)
}

func (r *recentFloors) floorLocked(id int64, uidNext uint32) uint32 {
	if r.m == nil {
		r.m = map[int64]uint32{}
	}
	f, ok := r.m[id]
	if !ok {
		f = max(uidNext, 1) - 1
		r.m[id] = f
	}
	return f
}

// created registers a mailbox made by this process: all its mail will be recent.
func (r *recentFloors) created(id int64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.m == nil {
		r.m = map[int64]uint32{}
	}
	r.m[id] = 0
}

// forget drops a deleted mailbox.
func (r *recentFloors) forget(id int64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	delete(r.m, id)
}

// above returns the UIDs of uids (ascending) above the floor; with take, the floor
// rises to the last of them, so no other session sees them as recent.
func (r *recentFloors) above(id int64, uidNext uint32, uids []uint32, take bool) []uint32 {
	r.mu.Lock()
	defer r.mu.Unlock()
	f := r.floorLocked(id, uidNext)
	i, _ := slices.BinarySearch(uids, f+1)
	out := slices.Clone(uids[i:])
	if take && len(out) > 0 {
		r.m[id] = out[len(out)-1]
	}
	return out
}

// isRecent says whether uid is recent in this selection.
func (sel *selected) isRecent(uid uint32) bool {
	_, ok := slices.BinarySearch(sel.recent, uid)
	return ok
}

// addRecent records new UIDs (above every UID known so far) as this session's recent
// messages and returns the number still in the mailbox.
func (sel *selected) addRecent(floors *recentFloors, state uint32, uids []uint32) uint32 {
	sel.recent = append(sel.recent, floors.above(sel.id, state, uids, !sel.readOnly)...)
	sel.recent = slices.DeleteFunc(sel.recent, func(u uint32) bool {
		_, ok := slices.BinarySearch(sel.uids, u)
		return !ok
	})
	return uint32(len(sel.recent))
}

// flagsOf is a message's FLAGS as this session shows them: the stored flags, plus
// \Recent when the message is recent here and showRecent (recentShown) is set.
func (sel *selected) flagsOf(uid uint32, flags []string, showRecent bool) []goimap.Flag {
	out := toFlags(flags)
	if showRecent && sel.isRecent(uid) {
		out = append(out, flagRecent)
	}
	return out
}

// recentShown says whether this command's FLAGS carry \Recent: the client speaks
// IMAP4rev1 (it did not ENABLE IMAP4rev2) and some message is recent here.
func (ss *session) recentShown(sel *selected) bool {
	return len(sel.recent) > 0 && ss.rev1()
}

// rev1 says whether the client speaks IMAP4rev1 (it did not ENABLE IMAP4rev2), where
// \Recent, RECENT and the UNSEEN code of SELECT exist.
func (ss *session) rev1() bool {
	return ss.conn == nil || !ss.conn.EnabledCaps().Has(goimap.CapIMAP4rev2)
}
