package imap

import "github.com/emersion/go-imap/v2/imapserver"

// tellHighestModSeq sends OK [HIGHESTMODSEQ] once when a FETCH or STORE modifier (not
// SELECT or ENABLE) has just made the client CONDSTORE-aware (RFC 7162 3.1).
func (ss *session) tellHighestModSeq(w *imapserver.FetchWriter, sel *selected) error {
	if ss.condstoreTold || ss.conn == nil || !ss.conn.CondStoreEnabled() {
		return nil
	}
	ss.condstoreTold = true
	return w.WriteHighestModSeq(sel.modseq)
}

// modseqOf is the highest MODSEQ of the first and/or last of a search's hits, from the
// snapshot the search just read.
func (sel *selected) modseqOf(first uint32, withFirst bool, last uint32, withLast bool) uint64 {
	v := sel.snap.loaded()
	if v == nil {
		return 0
	}
	var out uint64
	for _, u := range [2]struct {
		uid uint32
		on  bool
	}{{first, withFirst}, {last, withLast}} {
		if i, ok := v.find(u.uid); ok && u.on {
			out = max(out, v.msgs[i].ModSeq)
		}
	}
	return out
}
