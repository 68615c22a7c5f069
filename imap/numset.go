package imap

import (
	"slices"

	goimap "github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapserver"
)

// resolve turns a sequence set or UID set into ascending indexes into sel.uids. "*" is
// the last message (RFC 3501 section 6.4.8: in a UID set "*" is the highest UID even if
// the range names higher ones); numbers naming no message are left out.
func (sel *selected) resolve(set goimap.NumSet) []int {
	n := len(sel.uids)
	if n == 0 {
		return nil
	}
	var out []int
	switch s := set.(type) {
	case goimap.SeqSet:
		for _, r := range s {
			start, stop := seqBound(r.Start, n), seqBound(r.Stop, n)
			if start > stop {
				start, stop = stop, start
			}
			for seq := max(start, 1); seq <= min(stop, uint32(n)); seq++ {
				out = append(out, int(seq-1))
			}
		}
	case goimap.UIDSet:
		if goimap.IsSearchRes(s) {
			for _, uid := range sel.saved {
				if i, ok := slices.BinarySearch(sel.uids, uid); ok {
					out = append(out, i)
				}
			}
			break
		}
		maxUID := sel.uids[n-1]
		for _, r := range s {
			start, stop := uint32(r.Start), uint32(r.Stop)
			if start == 0 {
				start = maxUID
			}
			if stop == 0 {
				stop = maxUID
			}
			if start > stop {
				start, stop = stop, start
			}
			i, _ := slices.BinarySearch(sel.uids, start)
			for ; i < n && sel.uids[i] <= stop; i++ {
				out = append(out, i)
			}
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

func seqBound(v uint32, n int) uint32 {
	if v == 0 {
		return uint32(n)
	}
	return v
}

// kindSet is a NumSet with the kind go-imap gave it.
func numKindOf(set goimap.NumSet) imapserver.NumKind {
	if _, ok := set.(goimap.UIDSet); ok {
		return imapserver.NumKindUID
	}
	return imapserver.NumKindSeq
}
