package postfix

import (
	"bufio"
	"fmt"
	"io"
	"regexp"
	"strings"
)

// maxLine bounds one logical line of main.cf or a table.
const maxLine = 1 << 20

// logicalLines joins continuation lines and drops comments and blank lines, calling fn
// with each logical line and the number of its first physical line.
func logicalLines(r io.Reader, fn func(line string, n int)) error {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 4096), maxLine)
	var cur strings.Builder
	start, n := 0, 0
	flush := func() {
		if cur.Len() > 0 {
			fn(cur.String(), start)
			cur.Reset()
		}
	}
	for sc.Scan() {
		n++
		line := strings.TrimRight(sc.Text(), "\r")
		trimmed := strings.TrimSpace(line)
		if trimmed == "" || strings.HasPrefix(trimmed, "#") {
			continue
		}
		if line[0] == ' ' || line[0] == '\t' {
			if cur.Len() > 0 {
				cur.WriteByte(' ')
				cur.WriteString(trimmed)
				if cur.Len() > maxLine {
					return fmt.Errorf("line %d: logical line longer than %d bytes", start, maxLine)
				}
			}
			continue
		}
		flush()
		start = n
		cur.WriteString(trimmed)
	}
	flush()
	return sc.Err()
}

// MainCf is a parsed main.cf.
type MainCf map[string]string

// ParseMainCf reads main.cf.
func ParseMainCf(r io.Reader) (MainCf, error) {
	m := MainCf{}
	err := logicalLines(r, func(line string, _ int) {
		k, v, ok := strings.Cut(line, "=")
		if !ok {
			return
		}
		m[strings.TrimSpace(k)] = strings.TrimSpace(v)
	})
	return m, err
}

var varRef = regexp.MustCompile(`\$(\{[A-Za-z0-9_]+\}|\([A-Za-z0-9_]+\)|[A-Za-z0-9_]+)`)

// Get returns the parameter's value with $name references expanded ("" for unknown
// names, as Postfix's defaults are not known here beyond the few that matter).
func (m MainCf) Get(name string) string { return m.expand(m[name], 0) }

func (m MainCf) expand(v string, depth int) string {
	if depth > 10 {
		return "" // a reference loop: Postfix refuses it too
	}
	if !strings.Contains(v, "$") {
		return v
	}
	return varRef.ReplaceAllStringFunc(v, func(ref string) string {
		name := strings.Trim(ref[1:], "{}()")
		return m.expand(m[name], depth+1)
	})
}

// List splits a parameter's value on commas and white space.
func (m MainCf) List(name string) []string {
	return splitList(m.Get(name))
}

func splitList(v string) []string {
	return strings.FieldsFunc(v, func(r rune) bool { return r == ',' || r == ' ' || r == '\t' })
}

// MapEntry is one "key value" line of a lookup table's source file.
type MapEntry struct {
	Line  int
	Key   string
	Value string
}

// ParseMap reads a lookup table's source file.
func ParseMap(r io.Reader) ([]MapEntry, error) {
	var out []MapEntry
	err := logicalLines(r, func(line string, n int) {
		k, v := line, ""
		if i := strings.IndexAny(line, " \t"); i >= 0 {
			k, v = line[:i], line[i+1:]
		}
		out = append(out, MapEntry{Line: n, Key: k, Value: strings.TrimSpace(v)})
	})
	return out, err
}

// MapSource returns the source file of a table named "type:path" when the type is one
// whose source is a "key value" text file.
func MapSource(spec string) (string, error) {
	typ, path, ok := strings.Cut(spec, ":")
	if !ok {
		return "", fmt.Errorf("table %q has no type", spec)
	}
	switch typ {
	case "hash", "btree", "lmdb", "cdb", "dbm", "texthash":
		if path == "" || path[0] != '/' {
			return "", fmt.Errorf("table %q: not an absolute path", spec)
		}
		return path, nil
	}
	return "", fmt.Errorf("table %q: type %s cannot be read from a file; convert it by hand", spec, typ)
}
