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
// of the key and a message, or "" when the entry fits.
func checkEntry(root reflect.Type, e entry) ([]string, string) {
	st := root
	for i, seg := range e.path {
		here := e.path[:i+1]
		f, ok := lookup(st, seg)
		if !ok {
			return here, unknownKey(root, e.path[:i], seg, i < len(e.path)-1 || e.kind == unstable.Table)
		}
		key := strings.Join(here, ".")
		last := i == len(e.path)-1
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
	full := strings.Join(append(append([]string(nil), parent...), name), ".")
	what := "key"
	if isTable {
		what = "table"
	}
	msg := fmt.Sprintf("unknown %s %q", what, full)

	st := root
	for _, p := range parent {
		f, _ := lookup(st, p)
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
		where = "in [" + strings.Join(parent, ".") + "]"
	}
	return fmt.Sprintf("%s (allowed %s: %s)", msg, where, strings.Join(siblings, ", "))
}
