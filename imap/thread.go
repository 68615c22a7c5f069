package imap

import (
	"cmp"
	"context"
	"slices"
	"strconv"
	"strings"
	"time"

	goimap "github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapserver"

	"github.com/postern/postern/mimeparse"
)

// Thread answers THREAD and UID THREAD (RFC 5256) with the ORDEREDSUBJECT and
// REFERENCES algorithms: SEARCH, then read the matching messages' Message-ID,
// References, In-Reply-To, Subject and Date headers and build the threads.
func (ss *session) Thread(ctx context.Context, kind imapserver.NumKind, alg goimap.ThreadAlgorithm, charset string, sc *goimap.SearchCriteria) (out []goimap.ThreadData, err error) {
	defer ss.recovered(&err)
	sel, err := ss.requireSelected()
	if err != nil {
		return nil, err
	}
	if alg != goimap.ThreadReferences && alg != goimap.ThreadOrderedSubject {
		return nil, &goimap.Error{Type: goimap.StatusResponseTypeBad, Text: "Unsupported THREAD algorithm " + string(alg)}
	}
	mcs, err := ss.searchMatches(ctx, sel, sc, "thread")
	if err != nil {
		return nil, err
	}
	tms := make([]threadMsg, len(mcs))
	for i, mc := range mcs {
		if i%256 == 0 {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
		}
		mc.parse()
		n := mc.seq
		if kind == imapserver.NumKindUID {
			n = mc.m.UID
		}
		tm := threadMsg{num: n, order: mc.seq, date: mc.sentDate()}
		subj, _ := mc.header.Subject()
		tm.subject, tm.reply = baseSubject(subj)
		if ids := mimeparse.MsgIDs(mc.header.Get("Message-Id")); len(ids) > 0 {
			tm.id = ids[0]
		}
		tm.refs = mimeparse.MsgIDs(mc.header.Get("References"))
		if len(tm.refs) == 0 {
			// RFC 5256 section 4 step (1)(A): without References, the first message
			// ID of In-Reply-To.
			if irt := mimeparse.MsgIDs(mc.header.Get("In-Reply-To")); len(irt) > 0 {
				tm.refs = irt[:1]
			}
		}
		tms[i] = tm
	}
	var roots []*threadNode
	if alg == goimap.ThreadOrderedSubject {
		roots = threadOrderedSubject(tms)
	} else {
		roots = threadReferences(tms)
	}
	for _, r := range roots {
		out = append(out, r.data())
	}
	return out, nil
}

// threadMsg is what threading needs of one message.
type threadMsg struct {
	num     uint32 // sequence number or UID, as answered
	order   uint32 // sequence number: the tie-break for equal dates
	date    time.Time
	id      string
	refs    []string
	subject string // base subject (RFC 5256 section 2.1)
	reply   bool   // the subject had a reply or forward marker
}

// threadNode is a container of RFC 5256's REFERENCES algorithm; msg is nil for a
// dummy (a message referred to but not in the set).
type threadNode struct {
	msg      *threadMsg
	parent   *threadNode
	children []*threadNode
}

func (n *threadNode) addChild(c *threadNode) {
	c.parent = n
	n.children = append(n.children, c)
}

func (n *threadNode) removeChild(c *threadNode) {
	n.children = slices.DeleteFunc(n.children, func(x *threadNode) bool { return x == c })
	c.parent = nil
}

// isAncestorOf reports whether n is c or one of c's ancestors.
func (n *threadNode) isAncestorOf(c *threadNode) bool {
	for ; c != nil; c = c.parent {
		if c == n {
			return true
		}
	}
	return false
}

// sortKey is the date a node sorts by: its message's, or for a dummy its first
// child's after the children are sorted (RFC 5256 section 4 step 6).
func (n *threadNode) sortKey() (time.Time, uint32) {
	for n.msg == nil {
		if len(n.children) == 0 {
			return time.Time{}, 0
		}
		n = n.children[0]
	}
	return n.msg.date, n.msg.order
}

func sortNodes(ns []*threadNode) {
	for _, n := range ns {
		sortNodes(n.children)
	}
	slices.SortStableFunc(ns, func(a, b *threadNode) int {
		da, oa := a.sortKey()
		db, ob := b.sortKey()
		if c := da.Compare(db); c != 0 {
			return c
		}
		return cmp.Compare(oa, ob)
	})
}

// data turns a thread into go-imap's form: a chain of single descendants, then the
// subthreads where a node has several children. A dummy contributes no number.
func (n *threadNode) data() goimap.ThreadData {
	var d goimap.ThreadData
	for {
		if n.msg != nil {
			d.Chain = append(d.Chain, n.msg.num)
		}
		if len(n.children) == 1 && n.msg != nil {
			n = n.children[0]
			continue
		}
		for _, c := range n.children {
			d.SubThreads = append(d.SubThreads, c.data())
		}
		return d
	}
}

// threadOrderedSubject groups messages by base subject; each group, in date order,
// is its first message with the others as its children; groups are ordered by their
// first message's date (RFC 5256 section 3, ORDEREDSUBJECT).
func threadOrderedSubject(ms []threadMsg) []*threadNode {
	sorted := make([]*threadMsg, len(ms))
	for i := range ms {
		sorted[i] = &ms[i]
	}
	slices.SortStableFunc(sorted, func(a, b *threadMsg) int {
		if c := strings.Compare(a.subject, b.subject); c != 0 {
			return c
		}
		if c := a.date.Compare(b.date); c != 0 {
			return c
		}
		return cmp.Compare(a.order, b.order)
	})
	var roots []*threadNode
	var cur *threadNode
	for i, m := range sorted {
		n := &threadNode{msg: m}
		if i > 0 && cur != nil && sorted[i-1].subject == m.subject {
			cur.addChild(n)
			continue
		}
		cur = n
		roots = append(roots, n)
	}
	slices.SortStableFunc(roots, func(a, b *threadNode) int {
		if c := a.msg.date.Compare(b.msg.date); c != 0 {
			return c
		}
		return cmp.Compare(a.msg.order, b.msg.order)
	})
	return roots
}

// threadReferences is RFC 5256 section 3's REFERENCES algorithm (after Jamie
// Zawinski's): link messages by their References, prune empty containers, sort,
// merge threads by base subject, sort the siblings by date.
func threadReferences(ms []threadMsg) []*threadNode {
	byID := map[string]*threadNode{}
	var all []*threadNode // every container, in creation order, for a stable root set
	get := func(id string) *threadNode {
		if n, ok := byID[id]; ok {
			return n
		}
		n := &threadNode{}
		byID[id] = n
		all = append(all, n)
		return n
	}
	for i := range ms {
		m := &ms[i]
		// (1)(A): chain the references, parent before child, unless either already
		// has a parent or the link would make a loop.
		var prev *threadNode
		for _, ref := range m.refs {
			n := get(ref)
			if prev != nil && n.parent == nil && !n.isAncestorOf(prev) {
				prev.addChild(n)
			}
			prev = n
		}
		// (1)(B): the message's own container; a missing or duplicate Message-ID
		// gets a unique one.
		id := m.id
		if id == "" || (byID[id] != nil && byID[id].msg != nil) {
			id = "\x00unique" + strconv.Itoa(i)
		}
		self := get(id)
		self.msg = m
		// (1)(C): the last reference is the parent, replacing any link made by
		// other messages' References.
		if self.parent != nil {
			self.parent.removeChild(self)
		}
		if prev != nil && !self.isAncestorOf(prev) {
			prev.addChild(self)
		}
	}
	// (2) root set, (3) prune.
	var roots []*threadNode
	for _, n := range all {
		if n.parent == nil {
			roots = append(roots, n)
		}
	}
	roots = prune(roots, true)
	// (4) sort the root set by date, (5) merge by subject, (6) sort siblings.
	sortNodes(roots)
	roots = mergeBySubject(roots)
	sortNodes(roots)
	return roots
}

// prune removes dummies without children and replaces dummies by their children,
// except at the root level where a dummy with several children stays (RFC 5256
// section 3 step 3).
func prune(ns []*threadNode, root bool) []*threadNode {
	var out []*threadNode
	for _, n := range ns {
		n.children = prune(n.children, false)
		if n.msg != nil {
			out = append(out, n)
			continue
		}
		switch {
		case len(n.children) == 0:
		case !root || len(n.children) == 1:
			for _, c := range n.children {
				c.parent = n.parent
				out = append(out, c)
			}
		default:
			out = append(out, n)
		}
	}
	for _, n := range out {
		if root {
			n.parent = nil
		}
	}
	return out
}

// threadSubject is the base subject of a root: its message's or, for a dummy, its
// first child's.
func threadSubject(n *threadNode) (string, bool) {
	m := n.msg
	if m == nil && len(n.children) > 0 {
		m = n.children[0].msg
	}
	if m == nil {
		return "", false
	}
	return m.subject, m.reply
}

// mergeBySubject joins root threads that share a base subject (RFC 5256 section 3
// step 5).
func mergeBySubject(roots []*threadNode) []*threadNode {
	table := map[string]*threadNode{}
	for _, n := range roots {
		s, reply := threadSubject(n)
		if s == "" {
			continue
		}
		old, ok := table[s]
		if !ok {
			table[s] = n
			continue
		}
		_, oldReply := threadSubject(old)
		if (n.msg == nil && old.msg != nil) || (old.msg != nil && oldReply && !reply) {
			table[s] = n
		}
	}
	gone := map[*threadNode]bool{}
	for _, n := range roots {
		s, reply := threadSubject(n)
		if s == "" {
			continue
		}
		t := table[s]
		if t == n || gone[n] {
			continue
		}
		_, tReply := threadSubject(t)
		switch {
		case t.msg == nil && n.msg == nil:
			for _, c := range n.children {
				t.addChild(c)
			}
			n.children = nil
			gone[n] = true
		case t.msg == nil:
			t.addChild(n)
			gone[n] = true
		case !tReply && reply:
			t.addChild(n)
			gone[n] = true
		default:
			// A new dummy takes the place of the table's thread, holding both.
			d := &threadNode{}
			j := slices.Index(roots, t)
			roots[j] = d
			d.addChild(t)
			d.addChild(n)
			table[s] = d
			gone[n] = true
		}
	}
	return slices.DeleteFunc(roots, func(n *threadNode) bool { return gone[n] })
}

// baseSubject extracts RFC 5256 section 2.1's base subject and says whether the
// subject was a reply or forward: trailing "(fwd)", leading "re:", "fw:", "fwd:"
// (with optional "[blob]"s), leading "[blob]"s and "[fwd: ...]" wrappers removed,
// whitespace collapsed, lower-cased for comparison.
func baseSubject(s string) (string, bool) {
	s = strings.Join(strings.Fields(s), " ")
	reply := false
	for {
		start := s
		// (2) trailing "(fwd)" and whitespace.
		for {
			t := strings.TrimSpace(s)
			if len(t) >= 5 && strings.EqualFold(t[len(t)-5:], "(fwd)") {
				s = t[:len(t)-5]
				reply = true
				continue
			}
			s = t
			break
		}
		// (3)-(5) leaders.
		for {
			t, isReply, ok := cutLeader(s)
			if !ok {
				break
			}
			s = t
			reply = reply || isReply
		}
		// (6) "[fwd:" ... "]" wrapper.
		if len(s) > 6 && strings.EqualFold(s[:5], "[fwd:") && s[len(s)-1] == ']' {
			s = strings.TrimSpace(s[5 : len(s)-1])
			reply = true
		}
		if s == start {
			return strings.ToLower(s), reply
		}
	}
}

// cutLeader removes one subj-leader: a "[blob]" (unless that would leave nothing) or
// a "re", "fw" or "fwd" followed by optional "[blob]"s and a colon.
func cutLeader(s string) (string, bool, bool) {
	if strings.HasPrefix(s, "[") {
		if j := strings.IndexByte(s, ']'); j > 0 && !strings.ContainsAny(s[1:j], "[") {
			if rest := strings.TrimSpace(s[j+1:]); rest != "" {
				return rest, false, true
			}
		}
	}
	low := strings.ToLower(s)
	for _, p := range []string{"fwd", "re", "fw"} {
		if !strings.HasPrefix(low, p) {
			continue
		}
		rest := strings.TrimLeft(s[len(p):], " ")
		for strings.HasPrefix(rest, "[") {
			j := strings.IndexByte(rest, ']')
			if j < 0 {
				break
			}
			rest = strings.TrimLeft(rest[j+1:], " ")
		}
		if strings.HasPrefix(rest, ":") {
			return strings.TrimSpace(rest[1:]), true, true
		}
	}
	return s, false, false
}
