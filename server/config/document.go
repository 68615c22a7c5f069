package config

import (
	"strconv"
	"strings"

	"github.com/pelletier/go-toml/v2/unstable"
)

// entry is one key or table header of a TOML document, with where it is.
type entry struct {
	path  []string        // the full key: table prefix plus the dotted key
	line  int             // the line of the key (or of the table header)
	kind  unstable.Kind   // the value's kind; Table or ArrayTable for headers
	elems []unstable.Kind // for arrays, the kind of each element
}

func (e entry) key() string { return strings.Join(e.path, ".") }

// scanDocument lists every table header and key of data, including the keys
// inside inline tables, in document order. go-toml's unstable parser is the
// only one that exposes positions, which is why it is used here.
//
// The elements of an array of tables are numbered from 1 in the paths: the
// second [[route]] header is "route.2" and its via key "route.2.via", so that
// each element's keys have their own lines and can be pruned one by one.
func scanDocument(data []byte) ([]entry, error) {
	var (
		p       unstable.Parser
		prefix  []string
		entries []entry
		arrays  = make(map[string]int) // numbered key of an array of tables -> elements so far
	)
	numbered := func(keys []string) []string {
		var out []string
		for _, k := range keys {
			out = append(out, k)
			if n, ok := arrays[strings.Join(out, ".")]; ok {
				out = append(out, strconv.Itoa(n))
			}
		}
		return out
	}
	p.Reset(data)
	for p.NextExpression() {
		e := p.Expression()
		switch e.Kind {
		case unstable.Table:
			keys, line := keyOf(&p, e)
			prefix = numbered(keys)
			entries = append(entries, entry{path: prefix, line: line, kind: e.Kind})
		case unstable.ArrayTable:
			keys, line := keyOf(&p, e)
			parent := numbered(keys[:len(keys)-1])
			arr := append(parent, keys[len(keys)-1])
			k := strings.Join(arr, ".")
			arrays[k]++
			prefix = append(arr, strconv.Itoa(arrays[k]))
			entries = append(entries, entry{path: prefix, line: line, kind: e.Kind})
		case unstable.KeyValue:
			entries = scanKeyValue(&p, prefix, e, entries)
		}
	}
	return entries, p.Error()
}

// scanKeyValue appends the entry for kv and, for an inline table, the
// entries of its keys.
func scanKeyValue(p *unstable.Parser, prefix []string, kv *unstable.Node, entries []entry) []entry {
	keys, line := keyOf(p, kv)
	path := append(append([]string(nil), prefix...), keys...)
	v := kv.Value()
	en := entry{path: path, line: line, kind: v.Kind}
	if v.Kind == unstable.Array {
		for it := v.Children(); it.Next(); {
			en.elems = append(en.elems, it.Node().Kind)
		}
	}
	entries = append(entries, en)
	if v.Kind == unstable.Array {
		// An array of inline tables: number its elements like [[...]] headers.
		n := 0
		for it := v.Children(); it.Next(); {
			n++
			if el := it.Node(); el.Kind == unstable.InlineTable {
				elPath := append(append([]string(nil), path...), strconv.Itoa(n))
				entries = append(entries, entry{path: elPath, line: line, kind: el.Kind})
				for kv := el.Children(); kv.Next(); {
					if c := kv.Node(); c.Kind == unstable.KeyValue {
						entries = scanKeyValue(p, elPath, c, entries)
					}
				}
			}
		}
	}
	if v.Kind == unstable.InlineTable {
		for it := v.Children(); it.Next(); {
			if n := it.Node(); n.Kind == unstable.KeyValue {
				entries = scanKeyValue(p, path, n, entries)
			}
		}
	}
	return entries
}

// keyOf returns the parts of a node's (possibly dotted) key and the line its
// first part is on.
func keyOf(p *unstable.Parser, n *unstable.Node) ([]string, int) {
	var (
		parts []string
		line  int
	)
	for it := n.Key(); it.Next(); {
		k := it.Node()
		if line == 0 {
			line = p.Shape(k.Raw).Start.Line
		}
		parts = append(parts, string(k.Data))
	}
	return parts, line
}

// lineMap maps every key and table of the document to its first line.
func lineMap(entries []entry) map[string]int {
	m := make(map[string]int, len(entries))
	for _, e := range entries {
		if _, ok := m[e.key()]; !ok {
			m[e.key()] = e.line
		}
	}
	return m
}

// kindName describes a TOML value kind for error messages.
func kindName(k unstable.Kind) string {
	switch k {
	case unstable.String:
		return "a string"
	case unstable.Bool:
		return "a boolean"
	case unstable.Integer:
		return "an integer"
	case unstable.Float:
		return "a float"
	case unstable.Array:
		return "an array"
	case unstable.InlineTable, unstable.Table:
		return "a table"
	case unstable.ArrayTable:
		return "an array of tables"
	case unstable.LocalDate, unstable.LocalTime, unstable.LocalDateTime, unstable.DateTime:
		return "a date or time"
	}
	return "a " + strings.ToLower(k.String())
}
