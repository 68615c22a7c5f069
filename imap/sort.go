package imap

import (
	"cmp"
	"context"
	"slices"
	"strings"
	"time"

	goimap "github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapserver"
)

// Sort answers SORT (RFC 5256) and ESORT (RFC 5267): SEARCH, then order the hits by
// the criteria, with the UID (arrival order) as the final tie-break.
func (ss *session) Sort(ctx context.Context, kind imapserver.NumKind, criteria []goimap.SortCriterion, charset string, sc *goimap.SearchCriteria, o *goimap.SortOptions) (data *goimap.SortData, err error) {
	defer ss.recovered(&err)
	sel, err := ss.requireSelected()
	if err != nil {
		return nil, err
	}
	mcs, err := ss.searchMatches(ctx, sel, sc, "sort")
	if err != nil {
		return nil, err
	}
	type row struct {
		uid, seq uint32
		mc       *matchCtx
	}
	rows := make([]row, len(mcs))
	for i, mc := range mcs {
		rows[i] = row{mc.m.UID, mc.seq, mc}
	}
	slices.SortStableFunc(rows, func(a, b row) int {
		for _, c := range criteria {
			r := compareBy(c.Key, a.mc, b.mc)
			if c.Reverse {
				r = -r
			}
			if r != 0 {
				return r
			}
		}
		return cmp.Compare(a.uid, b.uid)
	})
	data = &goimap.SortData{}
	for _, r := range rows {
		n := r.seq
		if kind == imapserver.NumKindUID {
			n = r.uid
		}
		data.All = append(data.All, n)
	}
	data.Count = uint32(len(data.All))
	if len(data.All) > 0 {
		data.Min, data.Max = slices.Min(data.All), slices.Max(data.All)
	}
	return data, nil
}

// searchMatches runs SEARCH for SORT and THREAD (op names which in errors) and returns a
// match context for each hit, in mailbox order.
func (ss *session) searchMatches(ctx context.Context, sel *selected, sc *goimap.SearchCriteria, op string) ([]*matchCtx, error) {
	hits, _, err := ss.searchUIDs(ctx, sel, sc)
	if err != nil {
		return nil, ss.imapError(op, err)
	}
	idx := make([]int, 0, len(hits))
	for _, uid := range hits {
		if i, ok := slices.BinarySearch(sel.uids, uid); ok {
			idx = append(idx, i)
		}
	}
	msgs, seqs, err := ss.pick(ctx, sel, idx)
	if err != nil {
		return nil, ss.imapError(op, err)
	}
	f, err := ss.srv.newFolder(sel.dir)
	if err != nil {
		return nil, ss.imapError(op, err)
	}
	mcs := make([]*matchCtx, len(msgs))
	for i, m := range msgs {
		mcs[i] = &matchCtx{sel: sel, m: m, seq: seqs[i], f: f}
	}
	return mcs, nil
}

func compareBy(key goimap.SortKey, a, b *matchCtx) int {
	switch key {
	case goimap.SortKeyArrival:
		// The internal date (RFC 5256 section 3), ties by sequence number.
		return a.m.InternalDate.Compare(b.m.InternalDate)
	case goimap.SortKeySize:
		return cmp.Compare(a.m.Size, b.m.Size)
	case goimap.SortKeyDate:
		return a.sentDate().Compare(b.sentDate())
	case goimap.SortKeySubject:
		return strings.Compare(a.sortSubject(), b.sortSubject())
	case goimap.SortKeyFrom, goimap.SortKeyTo, goimap.SortKeyCc:
		return strings.Compare(a.firstMailbox(string(key), false), b.firstMailbox(string(key), false))
	case goimap.SortKeyDisplayFrom:
		return strings.Compare(a.firstMailbox("From", true), b.firstMailbox("From", true))
	case goimap.SortKeyDisplayTo:
		return strings.Compare(a.firstMailbox("To", true), b.firstMailbox("To", true))
	}
	return 0
}

// sentDate is the Date header, or the internal date when it is missing or bad (RFC
// 5256 section 3).
func (mc *matchCtx) sentDate() time.Time {
	mc.parse()
	if t, err := mc.header.Date(); err == nil && !t.IsZero() {
		return t
	}
	return mc.m.InternalDate
}

// sortSubject is the message's RFC 5256 base subject (subject.go), upper-cased for
// the i;ascii-casemap collation.
func (mc *matchCtx) sortSubject() string {
	mc.parse()
	s, _ := mc.header.Subject()
	b, _ := baseSubject(s)
	return asciiUpper(b)
}

// asciiUpper upper-cases ASCII letters only: the i;ascii-casemap collation RFC 5256
// sorts with (so "_" sorts after "Z", as in Dovecot).
func asciiUpper(s string) string {
	return strings.Map(func(r rune) rune {
		if 'a' <= r && r <= 'z' {
			return r - 'a' + 'A'
		}
		return r
	}, s)
}

// leadingGroup says whether an address-list header value starts with a group
// ("name: member, ...;", RFC 5322 3.4) and returns the group's name.
func leadingGroup(v string) (string, bool) {
	i := strings.IndexAny(v, ":<@,\"(")
	if i <= 0 || v[i] != ':' {
		return "", false
	}
	name := strings.TrimSpace(v[:i])
	return name, name != ""
}

// firstMailbox is the first address's local part (RFC 5256 FROM, TO, CC) or, for
// DISPLAY sorts (RFC 5957), its display name falling back to the address.
func (mc *matchCtx) firstMailbox(field string, display bool) string {
	mc.parse()
	if !display {
		if g, ok := leadingGroup(mc.header.Get(field)); ok {
			// A group comes first: its name is the first ENVELOPE address's
			// mailbox (RFC 3501 7.4.2), which RFC 5256 sorts by.
			return asciiUpper(g)
		}
	}
	addrs, err := mc.header.AddressList(strings.ToUpper(field[:1]) + strings.ToLower(field[1:]))
	if err != nil || len(addrs) == 0 {
		return ""
	}
	a := addrs[0]
	if display {
		if a.Name != "" {
			return strings.ToLower(a.Name)
		}
		return strings.ToLower(a.Address)
	}
	local, _, _ := strings.Cut(a.Address, "@")
	return asciiUpper(local)
}
