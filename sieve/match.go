package sieve

import (
	"regexp"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Comparators (RFC 4790, RFC 5228 section 2.7.3) and match types
// (RFC 5228 section 2.7.1, RFC 5231 relational, RFC regex draft).

type comparator int

const (
	cmpCasemap comparator = iota // i;ascii-casemap, the default
	cmpOctet                     // i;octet
	cmpNumeric                   // i;ascii-numeric (RFC 4790 section 9.1)
)

type matchType int

const (
	mtIs matchType = iota
	mtContains
	mtMatches
	mtRegex
	mtCount
	mtValue
)

type relOp int

const (
	relGT relOp = iota
	relGE
	relLT
	relLE
	relEQ
	relNE
)

var relOps = map[string]relOp{"gt": relGT, "ge": relGE, "lt": relLT, "le": relLE, "eq": relEQ, "ne": relNE}

// matcher is the compiled comparator + match type + keys of one test.
type matcher struct {
	cmp     comparator
	mt      matchType
	rel     relOp
	keys    []value
	regex   []*regexp.Regexp // precompiled for constant keys (nil entries otherwise)
	capture bool
}

func (c comparator) fold(s string) string {
	if c == cmpCasemap {
		return asciiLower(s)
	}
	return s
}

// asciiLower lower-cases ASCII letters only, as i;ascii-casemap requires.
func asciiLower(s string) string {
	hasUpper := false
	for i := 0; i < len(s); i++ {
		if c := s[i]; c >= 'A' && c <= 'Z' {
			hasUpper = true
			break
		}
	}
	if !hasUpper {
		return s
	}
	b := []byte(s)
	for i, c := range b {
		if c >= 'A' && c <= 'Z' {
			b[i] = c + 32
		}
	}
	return string(b)
}

// numericKey returns the value i;ascii-numeric gives s: its leading digits,
// or "infinity" when s does not start with a digit (RFC 4790 section 9.1.1).
func numericKey(s string) (digits string, inf bool) {
	n := 0
	for n < len(s) && isDigit(s[n]) {
		n++
	}
	if n == 0 {
		return "", true
	}
	d := strings.TrimLeft(s[:n], "0")
	return d, false
}

// order compares a and b under the comparator: -1, 0 or 1.
func (c comparator) order(a, b string) int {
	switch c {
	case cmpNumeric:
		da, ia := numericKey(a)
		db, ib := numericKey(b)
		switch {
		case ia && ib:
			return 0
		case ia:
			return 1
		case ib:
			return -1
		}
		if len(da) != len(db) {
			if len(da) < len(db) {
				return -1
			}
			return 1
		}
		return strings.Compare(da, db)
	case cmpCasemap:
		return strings.Compare(asciiLower(a), asciiLower(b))
	}
	return strings.Compare(a, b)
}

func (r relOp) holds(ord int) bool {
	switch r {
	case relGT:
		return ord > 0
	case relGE:
		return ord >= 0
	case relLT:
		return ord < 0
	case relLE:
		return ord <= 0
	case relEQ:
		return ord == 0
	}
	return ord != 0
}

// matchOne tests one value against one key. captures receives the match
// variables (${0}..) when the match succeeds and captures is non-nil.
func (m *matcher) matchOne(val, key string, re *regexp.Regexp, captures *[]string) bool {
	switch m.mt {
	case mtIs:
		if m.cmp == cmpNumeric {
			return m.cmp.order(val, key) == 0
		}
		return m.cmp.fold(val) == m.cmp.fold(key)
	case mtContains:
		return strings.Contains(m.cmp.fold(val), m.cmp.fold(key))
	case mtValue:
		return m.rel.holds(m.cmp.order(val, key))
	case mtMatches:
		return globMatch(m.cmp.fold(key), m.cmp.fold(val), val, captures)
	case mtRegex:
		if re == nil {
			return false
		}
		if captures == nil {
			return re.MatchString(val)
		}
		idx := re.FindStringSubmatchIndex(val)
		if idx == nil {
			return false
		}
		caps := make([]string, 0, len(idx)/2)
		for k := 0; k+1 < len(idx); k += 2 {
			if idx[k] < 0 {
				caps = append(caps, "")
			} else {
				caps = append(caps, val[idx[k]:idx[k+1]])
			}
		}
		*captures = caps
		return true
	}
	return false
}

// compileRegex compiles a :regex key (POSIX extended syntax; Go's RE2 is a
// close superset for the forms scripts use and runs in linear time).
func compileRegex(key string, cmp comparator) (*regexp.Regexp, error) {
	if cmp == cmpCasemap {
		key = "(?i)" + key
	}
	return regexp.Compile(key)
}

// globMatch implements :matches (RFC 5228 section 2.7.1): "*" matches any
// run of characters, "?" one character, "\" quotes the next character.
// pattern and folded are already case-folded by the comparator; orig is the
// unfolded value, from which captures are cut (same byte offsets, since
// i;ascii-casemap folds ASCII only).
//
// It runs without backtracking blow-up: the pattern is split at its stars
// into segments; the first is anchored at the start, the last at the end,
// and each middle segment is placed at its leftmost occurrence, which is
// correct for glob patterns and makes every star but the last the
// shortest possible, as RFC 5229 section 3.2's example expects. Cost is
// O(len(value) * len(pattern)) in the worst case.
func globMatch(pattern, folded, orig string, captures *[]string) bool {
	segs := splitGlob(pattern)
	n := len(segs)
	var caps []span
	want := captures != nil
	pos := 0
	// First segment: anchored at the start.
	first := segs[0]
	if n == 1 {
		end, qs, ok := segMatchAt(first, folded, 0)
		if !ok || end != len(folded) {
			return false
		}
		if want {
			out := []string{orig}
			for _, q := range qs {
				out = append(out, orig[q.a:q.b])
			}
			*captures = out
		}
		return true
	}
	end, qs, ok := segMatchAt(first, folded, 0)
	if !ok {
		return false
	}
	caps = append(caps, qs...)
	pos = end
	for i := 1; i < n-1; i++ {
		start, e, qs, ok := segFind(segs[i], folded, pos)
		if !ok {
			return false
		}
		caps = append(caps, span{pos, start})
		caps = append(caps, qs...)
		pos = e
	}
	// Last segment: anchored at the end; it must fit after pos.
	last := segs[n-1]
	lastStart, lqs, ok := segMatchSuffix(last, folded, pos)
	if !ok {
		return false
	}
	caps = append(caps, span{pos, lastStart})
	caps = append(caps, lqs...)
	if want {
		out := make([]string, 0, len(caps)+1)
		out = append(out, orig)
		for _, c := range caps {
			out = append(out, orig[c.a:c.b])
		}
		*captures = out
	}
	return true
}

// globElem is one element of a star-free segment: a literal byte string or
// a "?" (any one character).
type globElem struct {
	lit string
	any bool
}

type span struct{ a, b int }

func splitGlob(p string) [][]globElem {
	var segs [][]globElem
	var cur []globElem
	var lit strings.Builder
	flush := func() {
		if lit.Len() > 0 {
			cur = append(cur, globElem{lit: lit.String()})
			lit.Reset()
		}
	}
	for i := 0; i < len(p); i++ {
		switch c := p[i]; c {
		case '\\':
			if i+1 < len(p) {
				i++
				lit.WriteByte(p[i])
			}
		case '*':
			flush()
			segs = append(segs, cur)
			cur = nil
		case '?':
			flush()
			cur = append(cur, globElem{any: true})
		default:
			lit.WriteByte(c)
		}
	}
	flush()
	return append(segs, cur)
}

// segMatchAt matches seg at exactly offset at; it returns the end offset
// and the spans of its "?" elements.
func segMatchAt(seg []globElem, s string, at int) (int, []span, bool) {
	p := at
	var qs []span
	for _, e := range seg {
		if e.any {
			if p >= len(s) {
				return 0, nil, false
			}
			_, w := utf8.DecodeRuneInString(s[p:])
			qs = append(qs, span{p, p + w})
			p += w
			continue
		}
		if !strings.HasPrefix(s[p:], e.lit) {
			return 0, nil, false
		}
		p += len(e.lit)
	}
	return p, qs, true
}

// segFind finds the leftmost occurrence of seg at or after from.
func segFind(seg []globElem, s string, from int) (int, int, []span, bool) {
	if len(seg) == 0 {
		return from, from, nil, true
	}
	for st := from; st <= len(s); {
		if !seg[0].any {
			k := strings.Index(s[st:], seg[0].lit)
			if k < 0 {
				return 0, 0, nil, false
			}
			st += k
		}
		if e, qs, ok := segMatchAt(seg, s, st); ok {
			return st, e, qs, true
		}
		if st >= len(s) {
			break
		}
		_, w := utf8.DecodeRuneInString(s[st:])
		st += w
	}
	return 0, 0, nil, false
}

// segMatchSuffix matches seg so that it ends exactly at len(s), starting at
// or after from. "?" counts characters, so the start is searched from the
// end over character boundaries.
func segMatchSuffix(seg []globElem, s string, from int) (int, []span, bool) {
	for st := len(s); st >= from; {
		if e, qs, ok := segMatchAt(seg, s, st); ok && e == len(s) {
			return st, qs, true
		}
		if !hasAny(seg) {
			// Literal-only segment: only one possible start.
			need := 0
			for _, e := range seg {
				need += len(e.lit)
			}
			st = len(s) - need
			if st < from {
				return 0, nil, false
			}
			if e, qs, ok := segMatchAt(seg, s, st); ok && e == len(s) {
				return st, qs, true
			}
			return 0, nil, false
		}
		if st == 0 {
			break
		}
		_, w := utf8.DecodeLastRuneInString(s[:st])
		st -= w
	}
	return 0, nil, false
}

func hasAny(seg []globElem) bool {
	for _, e := range seg {
		if e.any {
			return true
		}
	}
	return false
}

// countString renders a :count result for comparison with the key.
func countString(n int) string { return strconv.Itoa(n) }
