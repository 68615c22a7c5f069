package config

import (
	"errors"
	"fmt"
	"sort"
	"strings"
)

// Error is one problem in a config file. Parse, Load and Validate return all
// problems found, joined with errors.Join; use errors.As to get the first, or
// the Unwrap() []error method of the joined error to get them all.
type Error struct {
	File   string // the config file; "" when the Config was built in code
	Line   int    // 1-based; 0 when the problem has no line (a missing key)
	Column int    // 1-based; only for syntax errors
	Key    string // the dotted key, e.g. "smtp.message_size_limit"; "" for syntax errors
	Msg    string // what is wrong and what is allowed
}

// Error formats the problem as "FILE:LINE: MESSAGE" (or "FILE:LINE:COL:" for
// syntax errors), the form editors and compilers use.
func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(e.File)
	if e.Line > 0 {
		fmt.Fprintf(&b, ":%d", e.Line)
		if e.Column > 0 {
			fmt.Fprintf(&b, ":%d", e.Column)
		}
	}
	if b.Len() > 0 {
		b.WriteString(": ")
	}
	b.WriteString(e.Msg)
	return b.String()
}

// problems collects Errors while a document is checked.
type problems struct {
	file  string
	lines map[string]int
	list  []*Error
	// skip holds keys already reported while decoding; validation stays
	// silent about them (their value is the default, not the user's).
	skip map[string]bool
}

// addf reports a problem with key, prefixing the message with the key.
func (p *problems) addf(key, format string, args ...any) {
	p.add(key, key+": "+fmt.Sprintf(format, args...))
}

// add reports a problem with key and a message that stands on its own.
func (p *problems) add(key, msg string) {
	if p.skipped(key) {
		return
	}
	p.list = append(p.list, &Error{File: p.file, Line: lineOf(p.lines, key), Key: key, Msg: msg})
}

func (p *problems) skipped(key string) bool {
	for k := key; k != ""; {
		if p.skip[k] {
			return true
		}
		i := strings.LastIndexByte(k, '.')
		if i < 0 {
			break
		}
		k = k[:i]
	}
	return false
}

// err returns the problems sorted by line (problems without a line last),
// joined, or nil.
func (p *problems) err() error {
	if len(p.list) == 0 {
		return nil
	}
	sort.SliceStable(p.list, func(i, j int) bool {
		a, b := p.list[i].Line, p.list[j].Line
		if a == 0 || b == 0 {
			return a != 0 && b == 0
		}
		return a < b
	})
	errs := make([]error, len(p.list))
	for i, e := range p.list {
		errs[i] = e
	}
	return errors.Join(errs...)
}

// lineOf returns the line of key; else of the first key below it (a table
// only implied by dotted keys has no line of its own); else of the nearest
// table above it, so that a problem with an absent key points at its table;
// else 0.
func lineOf(lines map[string]int, key string) int {
	for k := key; k != ""; {
		if l, ok := lines[k]; ok {
			return l
		}
		best := 0
		for sub, l := range lines {
			if strings.HasPrefix(sub, k+".") && (best == 0 || l < best) {
				best = l
			}
		}
		if best != 0 {
			return best
		}
		i := strings.LastIndexByte(k, '.')
		if i < 0 {
			break
		}
		k = k[:i]
	}
	return 0
}

// quoteList formats allowed values for messages: "a", "b", "c".
func quoteList(vals []string) string {
	q := make([]string, len(vals))
	for i, v := range vals {
		q[i] = fmt.Sprintf("%q", v)
	}
	return strings.Join(q, ", ")
}

// suggest returns the candidate closest to s by edit distance, if it is close
// enough to be a likely typo, or "".
func suggest(s string, candidates []string) string {
	if len(s) > 64 {
		return "" // no key is that long; spare the quadratic distance
	}
	best, bestD := "", 0
	for _, c := range candidates {
		d := editDistance(s, c)
		if best == "" || d < bestD {
			best, bestD = c, d
		}
	}
	limit := max(1, min(len(s), len(best))/3)
	if best == "" || bestD > limit {
		return ""
	}
	return best
}

// editDistance is the optimal string alignment distance between a and b,
// in bytes: insertions, deletions, substitutions and transpositions of
// neighbours ("smpt" for "smtp") each count 1.
func editDistance(a, b string) int {
	d := make([][]int, len(a)+1)
	for i := range d {
		d[i] = make([]int, len(b)+1)
		d[i][0] = i
	}
	for j := range d[0] {
		d[0][j] = j
	}
	for i := 1; i <= len(a); i++ {
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			d[i][j] = min(d[i-1][j]+1, d[i][j-1]+1, d[i-1][j-1]+cost)
			if i > 1 && j > 1 && a[i-1] == b[j-2] && a[i-2] == b[j-1] {
				d[i][j] = min(d[i][j], d[i-2][j-2]+1)
			}
		}
	}
	return d[len(a)][len(b)]
}
