package config

import (
	"reflect"
	"strings"
)

// field is one key of the schema, found by reflection over the structs.
type field struct {
	name  string // the TOML key
	index int    // the struct field index
	sf    reflect.StructField
}

// tomlName returns the key a struct field is decoded from, or "" when the
// field is not part of the file (unexported or tagged "-").
func tomlName(f reflect.StructField) string {
	if !f.IsExported() {
		return ""
	}
	name, _, _ := strings.Cut(f.Tag.Get("toml"), ",")
	if name == "-" || name == "" {
		return ""
	}
	return name
}

// fieldsOf lists the TOML keys of struct type t in declaration order.
func fieldsOf(t reflect.Type) []field {
	var out []field
	for i := range t.NumField() {
		sf := t.Field(i)
		if name := tomlName(sf); name != "" {
			out = append(out, field{name: name, index: i, sf: sf})
		}
	}
	return out
}

// lookup finds key name in struct type t.
func lookup(t reflect.Type, name string) (field, bool) {
	for _, f := range fieldsOf(t) {
		if f.name == name {
			return f, true
		}
	}
	return field{}, false
}

// tableType returns the struct type behind a table field (a struct or a
// pointer to one), or nil when the field is a plain value.
func tableType(t reflect.Type) reflect.Type {
	if t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t.Kind() == reflect.Struct {
		return t
	}
	return nil
}

// collectionOf returns, for a field that holds several tables of one kind,
// the struct type of each: a map of tables ([relays.NAME], isMap) or an array
// of tables ([[route]]). It returns nil for any other field.
func collectionOf(t reflect.Type) (elem reflect.Type, isMap bool) {
	switch t.Kind() {
	case reflect.Map:
		if t.Key().Kind() == reflect.String {
			return tableType(t.Elem()), true
		}
	case reflect.Slice:
		return tableType(t.Elem()), false
	}
	return nil, false
}

// isTable reports whether a field is written as one or more TOML tables
// rather than as a key = value line.
func isTable(t reflect.Type) bool {
	elem, _ := collectionOf(t)
	return tableType(t) != nil || elem != nil
}

// expected describes, for error messages, the TOML type a Go type takes.
func expected(t reflect.Type) string {
	if elem, isMap := collectionOf(t); elem != nil {
		if isMap {
			return "a table of named tables"
		}
		return "an array of tables"
	}
	switch t.Kind() {
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "a boolean (true or false)"
	case reflect.Int, reflect.Int64:
		return "an integer"
	case reflect.Float64:
		return "a number (15 or 7.5)"
	case reflect.Slice:
		return "an array of strings"
	}
	if tableType(t) != nil {
		return "a table"
	}
	return t.String()
}

// typeName is the type shown in the reference.
func typeName(sf reflect.StructField) string {
	if t := sf.Tag.Get("type"); t != "" {
		return t
	}
	if elem, _ := collectionOf(sf.Type); elem != nil {
		return expected(sf.Type)[len("a "):]
	}
	switch sf.Type.Kind() {
	case reflect.String:
		return "string"
	case reflect.Bool:
		return "boolean"
	case reflect.Int, reflect.Int64:
		return "integer"
	case reflect.Float64:
		return "number"
	case reflect.Slice:
		return "array of strings"
	}
	return sf.Type.String()
}

// enumOf returns the values an enum field allows, or nil.
func enumOf(sf reflect.StructField) []string {
	e := sf.Tag.Get("enum")
	if e == "" {
		return nil
	}
	return strings.Split(e, "|")
}

// allKeys lists every dotted leaf key of the schema, for suggestions. The
// keys inside collections of tables ([relays.NAME], [[route]]) are left out:
// they have no single dotted name.
func allKeys(t reflect.Type, prefix string) []string {
	var out []string
	for _, f := range fieldsOf(t) {
		if elem, _ := collectionOf(f.sf.Type); elem != nil {
			continue
		}
		if tt := tableType(f.sf.Type); tt != nil {
			out = append(out, allKeys(tt, prefix+f.name+".")...)
			continue
		}
		out = append(out, prefix+f.name)
	}
	return out
}

// displayKey writes a document key for messages: the element number of an
// array of tables in brackets ("route[2].via"), everything else dotted.
func displayKey(root reflect.Type, path []string) string {
	var b strings.Builder
	st := root
	idx := false // the next segment is an element number
	name := false
	for i, seg := range path {
		switch {
		case idx:
			b.WriteString("[" + seg + "]")
			idx = false
			continue
		case name:
			name = false
		case st != nil:
			if f, ok := lookup(st, seg); ok {
				if elem, isMap := collectionOf(f.sf.Type); elem != nil {
					idx, name = !isMap, isMap
					st = elem
				} else {
					st = tableType(f.sf.Type)
				}
			} else {
				st = nil
			}
		}
		if i > 0 {
			b.WriteByte('.')
		}
		b.WriteString(seg)
	}
	return b.String()
}
