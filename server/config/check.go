package config

import (
	"fmt"
	"reflect"
	"strings"

	"github.com/pelletier/go-toml/v2/unstable"
)

// checkEntries compares every key of the document with the schema. It
// reports unknown keys and values of the wrong type, and returns the keys to
// prune before decoding (each reported once, even when a whole unknown table
// has many keys).
func checkEntries(entries []entry, pr *problems) [][]string {
	var bad [][]string
	reported := make(map[string]bool)
	flag := func(path []string, msg string) {
		k := strings.Join(path, ".")
		if reported[k] {
			return
		}
		reported[k] = true
		bad = append(bad, path)
		pr.list = append(pr.list, &Error{File: pr.file, Line: lineOf(pr.lines, k), Key: k, Msg: msg})
	}
	root := reflect.TypeFor[Config]()
	for _, e := range entries {
		if path, msg := checkEntry(root, e); msg != "" {
			flag(path, msg)
		}
	}
	return bad
}

// checkEntry walks e's key down the schema. It returns the offending prefix
// of the key and a message, or "" when the entry fits. Below a map of tables
// ([relays.NAME]) any NAME is allowed; below an array of tables ([[route]])
// the scanner has put the element number.
func checkEntry(root reflect.Type, e entry) ([]string, string) {
	if e.kind == unstable.ArrayTable {
		return checkArrayTable(root, e)
	}
	st := root
	for i := 0; i < len(e.path); i++ {
		seg := e.path[i]
		here := e.path[:i+1]
		f, ok := lookup(st, seg)
		if !ok {
			return here, unknownKey(root, e.path[:i], seg, i < len(e.path)-1 || e.kind == unstable.Table)
		}
		key := displayKey(root, here)
		last := i == len(e.path)-1
		if elem, isMap := collectionOf(f.sf.Type); elem != nil {
			if last {
				if msg := checkCollection(f.sf.Type, isMap, e); msg != "" {
					return here, key + ": " + msg
				}
				return nil, ""
			}
			if e.kind == unstable.Table && i+2 == len(e.path) && !isMap {
				return here, fmt.Sprintf("%s: expected an array of tables ([[%s]]), got a table", key, key)
			}
			i++ // the NAME or element number
			if i == len(e.path)-1 {
				if msg := checkKind(elem, e); msg != "" {
					return e.path[:i+1], displayKey(root, e.path[:i+1]) + ": " + msg
				}
				return nil, ""
			}
			st = elem
			continue
		}
		tt := tableType(f.sf.Type)
		if !last {
			if tt == nil {
				return here, fmt.Sprintf("%s: expected %s, got a table", key, expected(f.sf.Type))
			}
			st = tt
			continue
		}
		if msg := checkKind(f.sf.Type, e); msg != "" {
			return here, key + ": " + msg
		}
	}
	return nil, ""
}

// checkArrayTable checks a [[KEY]] header, whose path ends in the element
// number: KEY must fit the schema and be an array of tables.
func checkArrayTable(root reflect.Type, e entry) ([]string, string) {
	key := e.path[:len(e.path)-1]
	if p, msg := checkEntry(root, entry{path: key, line: e.line, kind: unstable.Array}); msg != "" {
		return p, msg
	}
	sf, _ := fieldAt(root, key)
	if elem, isMap := collectionOf(sf.Type); elem == nil || isMap {
		return key, fmt.Sprintf("%s: expected %s, got an array of tables", displayKey(root, key), expected(sf.Type))
	}
	return nil, ""
}

// fieldAt returns the struct field a document key that fits the schema ends at.
func fieldAt(root reflect.Type, path []string) (reflect.StructField, bool) {
	st := root
	var sf reflect.StructField
	for i := 0; i < len(path); i++ {
		if st == nil {
			return sf, false
		}
		f, ok := lookup(st, path[i])
		if !ok {
			return sf, false
		}
		sf = f.sf
		if elem, _ := collectionOf(sf.Type); elem != nil && i < len(path)-1 {
			i++
			st = elem
			continue
		}
		st = tableType(sf.Type)
	}
	return sf, true
}

// checkCollection says what is wrong when e, the key of a whole collection of
// tables, does not fit it: a map of tables is a table ([relays] or relays =
// {...}), an array of tables an array of inline tables (the [[route]] headers
// carry an element number and never end here).
func checkCollection(t reflect.Type, isMap bool, e entry) string {
	if isMap {
		if e.kind == unstable.Table || e.kind == unstable.InlineTable {
			return ""
		}
		return fmt.Sprintf("expected %s, got %s", expected(t), kindName(e.kind))
	}
	if e.kind != unstable.Array {
		return fmt.Sprintf("expected %s, got %s", expected(t), kindName(e.kind))
	}
	for i, k := range e.elems {
		if k != unstable.InlineTable {
			return fmt.Sprintf("expected %s, got %s as element %d", expected(t), kindName(k), i+1)
		}
	}
	return ""
}

// checkKind says what is wrong when e's value does not fit Go type t.
func checkKind(t reflect.Type, e entry) string {
	var ok bool
	switch {
	case tableType(t) != nil:
		ok = e.kind == unstable.Table || e.kind == unstable.InlineTable
	case t.Kind() == reflect.String:
		ok = e.kind == unstable.String
	case t.Kind() == reflect.Bool:
		ok = e.kind == unstable.Bool
	case t.Kind() == reflect.Int, t.Kind() == reflect.Int64:
		ok = e.kind == unstable.Integer
	case t.Kind() == reflect.Float64:
		ok = e.kind == unstable.Integer || e.kind == unstable.Float
	case t.Kind() == reflect.Slice:
		if e.kind != unstable.Array {
			break
		}
		for i, k := range e.elems {
			if k != unstable.String {
				return fmt.Sprintf("expected %s, got %s as element %d", expected(t), kindName(k), i+1)
			}
		}
		ok = true
	}
	if ok {
		return ""
	}
	return fmt.Sprintf("expected %s, got %s", expected(t), kindName(e.kind))
}

// unknownKey words the error for key name under parent, with the most
// likely intended key, or else the list of keys allowed there.
func unknownKey(root reflect.Type, parent []string, name string, isTable bool) string {
	full := displayKey(root, append(append([]string(nil), parent...), name))
	what := "key"
	if isTable {
		what = "table"
	}
	msg := fmt.Sprintf("unknown %s %q", what, full)

	st := root
	for i := 0; i < len(parent); i++ {
		f, _ := lookup(st, parent[i])
		if elem, _ := collectionOf(f.sf.Type); elem != nil {
			st = elem
			i++ // the NAME or element number
			continue
		}
		st = tableType(f.sf.Type)
	}
	var siblings []string
	for _, f := range fieldsOf(st) {
		siblings = append(siblings, f.name)
	}
	if s := suggest(name, siblings); s != "" {
		return fmt.Sprintf("%s (did you mean %q?)", msg, s)
	}
	// The key may be right but in the wrong table: "message_size_limit" at
	// the top level is "smtp.message_size_limit".
	for _, k := range allKeys(root, "") {
		last := k[strings.LastIndexByte(k, '.')+1:]
		if last == name && k != full {
			return fmt.Sprintf("%s (did you mean %q?)", msg, k)
		}
	}
	where := "at the top level"
	if len(parent) > 0 {
		d := displayKey(root, parent)
		if i := strings.LastIndexByte(d, '['); i > 0 && strings.HasSuffix(d, "]") {
			d = "[" + d[:i] + "]" // an element of an array of tables: [[route]]
		}
		where = "in [" + d + "]"
	}
	return fmt.Sprintf("%s (allowed %s: %s)", msg, where, strings.Join(siblings, ", "))
}
