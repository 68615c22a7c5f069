package imap

import (
	"context"
	"slices"

	goimap "github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapserver"
)

// QRESYNC (RFC 7162 section 3.2).
//
// Expunged UIDs are not kept with their MODSEQ (no tombstones). VANISHED (EARLIER)
// therefore answers conservatively: every UID in the range the client asked about
// (its known UIDs, or 1 up to UIDNEXT-1) that the mailbox no longer has, when the
// mailbox's HIGHESTMODSEQ moved past the client's MODSEQ at all. That can include
// UIDs expunged before the client's MODSEQ, which a client that already dropped them
// ignores (Dovecot answers the same way once its log no longer reaches back that
// far); nothing that still exists, and nothing the session still counts, is ever
// reported.
//
// Once QRESYNC is enabled, expunges are reported as VANISHED, by UID (section
// 3.2.10): the poll writes them (newExpungeReport); the EXPUNGE and MOVE commands
// leave their expunges to the poll that go-imap runs before their tagged OK, since
// their writers can only write EXPUNGE.

// qresyncEnabled reports whether the client sent ENABLE QRESYNC. The enabled set is
// read without CapSet.Has, which would count IMAP4rev2 as QRESYNC.
func (ss *session) qresyncEnabled() bool {
	if ss.conn == nil {
		return false
	}
	_, ok := ss.conn.EnabledCaps()[goimap.CapQResync]
	return ok
}

// expungeReport writes a poll's expunges: EXPUNGE per sequence number, or, with
// QRESYNC, one VANISHED for all of them at flush.
type expungeReport struct {
	w       *imapserver.UpdateWriter
	qresync bool
	uids    goimap.UIDSet
}

func (ss *session) newExpungeReport(w *imapserver.UpdateWriter) *expungeReport {
	return &expungeReport{w: w, qresync: ss.qresyncEnabled()}
}

// expunge reports that the message with seq and uid is gone; seq must be valid now
// (callers go from the highest sequence number down).
func (r *expungeReport) expunge(seq, uid uint32) error {
	if r.qresync {
		r.uids.AddNum(goimap.UID(uid))
		return nil
	}
	return r.w.WriteExpunge(seq)
}

func (r *expungeReport) flush() error {
	if len(r.uids) == 0 {
		return nil
	}
	uids := r.uids
	r.uids = nil
	return r.w.WriteVanished(uids)
}

// deferExpunges, for a QRESYNC client, leaves a command's own expunges to the poll
// after it (which says VANISHED) and reports true.
func (ss *session) deferExpunges(sel *selected) bool {
	if !ss.qresyncEnabled() {
		return false
	}
	sel.expungePending = true
	return true
}

// qresyncSelect fills a SELECT (QRESYNC ...)'s VANISHED (EARLIER) and FETCH answers
// (RFC 7162 section 3.2.5.2): nothing when the UIDVALIDITY differs or nothing changed
// since the client's MODSEQ.
func (ss *session) qresyncSelect(ctx context.Context, sel *selected, q *goimap.QResyncData, data *goimap.SelectData) error {
	if q == nil || q.UIDValidity != sel.uidValidity || q.ModSeq >= data.HighestModSeq {
		return nil
	}
	v, err := sel.snap.current(ctx)
	if err != nil {
		return err
	}
	known := q.KnownUIDs
	if len(known) == 0 {
		known = goimap.UIDSet{{Start: 1, Stop: 0}}
	}
	data.Vanished = vanishedIn(v, sel.uids, known, uint32(data.UIDNext))
	for i, uid := range sel.uids {
		j, ok := v.find(uid)
		if !ok || v.msgs[j].ModSeq <= q.ModSeq {
			continue
		}
		m := v.msgs[j]
		data.Modified = append(data.Modified, goimap.SelectModifiedData{
			SeqNum: uint32(i + 1), UID: goimap.UID(uid), Flags: toFlags(m.Flags), ModSeq: m.ModSeq,
		})
	}
	return nil
}

// fetchVanished writes UID FETCH ... (CHANGEDSINCE m VANISHED)'s VANISHED (EARLIER)
// before the FETCH answers (RFC 7162 section 3.2.6).
func (ss *session) fetchVanished(ctx context.Context, w *imapserver.FetchWriter, sel *selected, set goimap.NumSet, since uint64) error {
	uids, ok := set.(goimap.UIDSet)
	if !ok {
		return nil // the library allows VANISHED with UID FETCH only
	}
	v, err := sel.snap.current(ctx)
	if err != nil {
		return err
	}
	if since >= v.state.HighestModSeq {
		return nil
	}
	gone := vanishedIn(v, sel.uids, uids, v.state.UIDNext)
	if len(gone) == 0 {
		return nil
	}
	return w.WriteVanished(gone, true)
}

// vanishedIn returns the UIDs in set, below uidNext, that the snapshot does not have
// and the session's map does not hold either (those are reported, as plain VANISHED,
// by the next poll; VANISHED (EARLIER) must not name messages the session still
// counts).
func vanishedIn(v *snapView, held []uint32, set goimap.UIDSet, uidNext uint32) goimap.UIDSet {
	var out goimap.UIDSet
	if uidNext <= 1 {
		return nil
	}
	top := uidNext - 1
	for _, r := range set {
		lo, hi := uint32(r.Start), uint32(r.Stop)
		if lo == 0 {
			lo = top // "*"
		}
		if hi == 0 {
			hi = top
		}
		if lo > hi {
			lo, hi = hi, lo
		}
		hi = min(hi, top)
		if lo > hi {
			continue
		}
		// Walk the existing UIDs inside [lo, hi]; the gaps between them vanished.
		j, _ := v.find(lo)
		next := lo
		for next <= hi {
			end := hi
			if j < len(v.msgs) && v.msgs[j].UID <= hi {
				end = v.msgs[j].UID - 1
			}
			if end >= next {
				addGone(&out, held, next, end)
			}
			if j >= len(v.msgs) || v.msgs[j].UID > hi {
				break
			}
			next = v.msgs[j].UID + 1
			j++
		}
	}
	return out
}

// addGone adds [lo, hi] to out, minus the UIDs in held (ascending).
func addGone(out *goimap.UIDSet, held []uint32, lo, hi uint32) {
	i, _ := slices.BinarySearch(held, lo)
	for ; i < len(held) && held[i] <= hi; i++ {
		if held[i] > lo {
			out.AddRange(goimap.UID(lo), goimap.UID(held[i]-1))
		}
		lo = held[i] + 1
	}
	if lo <= hi && lo != 0 {
		out.AddRange(goimap.UID(lo), goimap.UID(hi))
	}
}
