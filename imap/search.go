package imap

import (
	"context"
	"slices"
	"strings"
	"time"

	goimap "github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapserver"
	"github.com/emersion/go-message/mail"

	"github.com/postern/postern/mimeparse"
	"github.com/postern/postern/store"
)

// Search answers SEARCH and UID SEARCH with every RFC 3501/9051 criterion. Criteria the
// index answers (sequence and UID sets, flags, internal date, size, MODSEQ) are checked
// first; the message file is opened only when a header, sent-date or text criterion
// remains, and then parsed once per message.
func (ss *session) Search(ctx context.Context, kind imapserver.NumKind, c *goimap.SearchCriteria, o *goimap.SearchOptions) (data *goimap.SearchData, err error) {
	defer ss.recovered(&err)
	sel, err := ss.requireSelected()
	if err != nil {
		return nil, err
	}
	hits, maxModSeq, err := ss.searchUIDs(ctx, sel, c)
	if err != nil {
		return nil, ss.imapError("search", err)
	}
	if o != nil && o.ReturnSave {
		sel.saved = hits
	}
	data = &goimap.SearchData{}
	if c.ModSeq != nil {
		data.ModSeq = maxModSeq
		if o != nil && (o.ReturnMin || o.ReturnMax) && !o.ReturnAll && !o.ReturnCount && len(hits) > 0 {
			// RFC 7162 3.1.5: with only MIN and/or MAX, the highest MODSEQ of the
			// messages returned.
			data.ModSeq = sel.modseqOf(hits[0], o.ReturnMin, hits[len(hits)-1], o.ReturnMax)
		}
	}
	var nums []uint32
	for _, uid := range hits {
		if kind == imapserver.NumKindUID {
			nums = append(nums, uid)
		} else if i, ok := slices.BinarySearch(sel.uids, uid); ok {
			nums = append(nums, uint32(i+1))
		}
	}
	if len(nums) > 0 {
		data.Min, data.Max = nums[0], nums[len(nums)-1]
	}
	data.Count = uint32(len(nums))
	if kind == imapserver.NumKindUID {
		var s goimap.UIDSet
		for _, n := range nums {
			s.AddNum(goimap.UID(n))
		}
		data.All = s
	} else {
		var s goimap.SeqSet
		for _, n := range nums {
			s.AddNum(n)
		}
		data.All = s
	}
	return data, nil
}

// searchUIDs returns the UIDs of the selected mailbox matching c, ascending, and the
// highest MODSEQ among them.
func (ss *session) searchUIDs(ctx context.Context, sel *selected, c *goimap.SearchCriteria) ([]uint32, uint64, error) {
	all := make([]int, len(sel.uids))
	for i := range all {
		all[i] = i
	}
	msgs, seqs, err := ss.pick(ctx, sel, all)
	if err != nil {
		return nil, 0, err
	}
	f, err := ss.srv.newFolder(sel.dir)
	if err != nil {
		return nil, 0, err
	}
	// With a HEADER criterion, the cached envelopes answer the common header fields
	// without opening files (search_envelope.go).
	withEnv := needsHeaders(c)
	if withEnv {
		if err := ss.srv.loadCachedSummaries(ctx, sel.snap, msgs, true, false); err != nil {
			return nil, 0, err
		}
	}
	var fill []store.CacheEntry
	defer func() { ss.srv.saveSummaries(sel.id, fill) }()
	var out []uint32
	var maxMod uint64
	for i := range msgs {
		if i%256 == 0 {
			if err := ctx.Err(); err != nil {
				return nil, 0, err
			}
		}
		m := msgs[i]
		mc := &matchCtx{sel: sel, m: m, seq: seqs[i], f: f, withEnv: withEnv}
		if mc.match(c) {
			out = append(out, m.UID)
			maxMod = max(maxMod, m.ModSeq)
		}
		if e := mc.fillEntry(); e != nil {
			fill = append(fill, *e)
		}
	}
	return out, maxMod, nil
}

// matchCtx evaluates criteria on one message, parsing its file at most once.
type matchCtx struct {
	sel    *selected
	m      snapMsg
	seq    uint32
	f      *folder
	parsed bool
	header mail.Header
	mhdr   *mimeparse.Header // the bounded header mimeparse kept
	bodyT  string            // decoded text parts
	fullT  string            // header + decoded text parts
	broken bool

	withEnv bool // HEADER is searched: use and fill the message's cached envelope
}

func (mc *matchCtx) match(c *goimap.SearchCriteria) bool {
	for _, set := range c.SeqNum {
		if !set.Contains(mc.seq) {
			if !seqStarMatch(set, mc.seq, uint32(len(mc.sel.uids))) {
				return false
			}
		}
	}
	for _, set := range c.UID {
		if goimap.IsSearchRes(set) {
			if _, ok := slices.BinarySearch(mc.sel.saved, mc.m.UID); !ok {
				return false
			}
			continue
		}
		if !uidSetMatch(set, mc.m.UID, mc.sel.uids) {
			return false
		}
	}
	for _, fl := range c.Flag {
		if !mc.hasFlag(fl) {
			return false
		}
	}
	for _, fl := range c.NotFlag {
		if mc.hasFlag(fl) {
			return false
		}
	}
	// Dates compare calendar days (RFC 3501 6.4.4), the internal date in its own zone.
	day := func(t time.Time) time.Time { y, m, d := t.Date(); return time.Date(y, m, d, 0, 0, 0, 0, time.UTC) }
	if !c.Since.IsZero() && day(mc.m.InternalDate).Before(day(c.Since)) {
		return false
	}
	if !c.Before.IsZero() && !day(mc.m.InternalDate).Before(day(c.Before)) {
		return false
	}
	if c.Larger > 0 && mc.m.Size <= c.Larger {
		return false
	}
	if c.Smaller > 0 && mc.m.Size >= c.Smaller {
		return false
	}
	if c.ModSeq != nil && mc.m.ModSeq < c.ModSeq.ModSeq {
		return false
	}
	for _, n := range c.Not {
		if mc.match(&n) {
			return false
		}
	}
	for _, or := range c.Or {
		if !mc.match(&or[0]) && !mc.match(&or[1]) {
			return false
		}
	}
	if !c.SentSince.IsZero() || !c.SentBefore.IsZero() {
		mc.parse()
		sent, err := mc.header.Date()
		if err != nil || sent.IsZero() {
			return false
		}
		if !c.SentSince.IsZero() && day(sent).Before(day(c.SentSince)) {
			return false
		}
		if !c.SentBefore.IsZero() && !day(sent).Before(day(c.SentBefore)) {
			return false
		}
	}
	for _, h := range c.Header {
		if h.Value != "" {
			if text, ok := mc.envelopeText(h.Key); ok {
				if !containsCI(text, h.Value) {
					return false
				}
				continue
			}
		}
		mc.parse()
		if !headerMatch(mc.header, h.Key, h.Value) {
			return false
		}
	}
	for _, s := range c.Body {
		mc.parse()
		if !containsCI(mc.bodyT, s) {
			return false
		}
	}
	for _, s := range c.Text {
		mc.parse()
		if !containsCI(mc.fullT, s) {
			return false
		}
	}
	return true
}

func seqStarMatch(set goimap.SeqSet, seq, n uint32) bool {
	for _, r := range set {
		start, stop := seqBound(r.Start, int(n)), seqBound(r.Stop, int(n))
		if start > stop {
			start, stop = stop, start
		}
		if seq >= start && seq <= stop {
			return true
		}
	}
	return false
}

func uidSetMatch(set goimap.UIDSet, uid uint32, uids []uint32) bool {
	maxUID := uint32(0)
	if len(uids) > 0 {
		maxUID = uids[len(uids)-1]
	}
	for _, r := range set {
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
		if uid >= start && uid <= stop {
			return true
		}
	}
	return false
}

// hasFlag says whether the message has flag f; \Recent is this session's (recent.go).
func (mc *matchCtx) hasFlag(f goimap.Flag) bool {
	if strings.EqualFold(string(f), string(flagRecent)) {
		return mc.sel.isRecent(mc.m.UID)
	}
	return containsFold(mc.m.Flags, string(f))
}

// headerMatch implements HEADER field-name string: an empty string matches any message
// with the field (RFC 3501 6.4.4); otherwise a case-insensitive substring of the
// decoded field value.
func headerMatch(h mail.Header, key, value string) bool {
	fields := h.FieldsByKey(key)
	found := false
	for fields.Next() {
		found = true
		if value == "" {
			return true
		}
		v, err := fields.Text()
		if err != nil {
			v = fields.Value()
		}
		if containsCI(v, value) {
			return true
		}
	}
	return found && value == ""
}

func containsCI(haystack, needle string) bool {
	return strings.Contains(strings.ToLower(haystack), strings.ToLower(needle))
}
