package sieve

import (
	"strconv"
	"strings"
	"unicode/utf8"
)

// value is a string argument after compilation. With the "variables"
// extension (RFC 5229 section 3) a string may hold ${name} references,
// which are expanded at run time; otherwise it is a constant.
type value struct {
	lit   string
	parts []valuePart // nil: constant lit
}

type valuePart struct {
	lit    string
	isVar  bool
	name   string // lower-cased variable name; "" for match variables
	num    int    // match variable index, -1 for named variables
	global bool
}

func constValue(s string) value { return value{lit: s} }

func (v value) isConst() bool { return v.parts == nil }

// isVarName reports whether s is a valid variable name for "set" and
// "global" (RFC 5229 section 3: identifier, no namespace unless global.x).
func isVarName(s string) bool {
	if s == "" || !isAlpha(s[0]) {
		return false
	}
	for i := 1; i < len(s); i++ {
		if !isAlpha(s[i]) && !isDigit(s[i]) {
			return false
		}
	}
	return true
}

// parseValue splits s into literal text and variable references. globals
// holds the names the script declared with "global" so far (RFC 6609).
func parseValue(s string, globals map[string]bool) value {
	if !strings.Contains(s, "${") {
		return constValue(s)
	}
	var parts []valuePart
	var lit strings.Builder
	i := 0
	for i < len(s) {
		j := strings.Index(s[i:], "${")
		if j < 0 {
			lit.WriteString(s[i:])
			break
		}
		lit.WriteString(s[i : i+j])
		i += j
		end := strings.IndexByte(s[i+2:], '}')
		if end < 0 {
			lit.WriteString(s[i:])
			break
		}
		ref := s[i+2 : i+2+end]
		p, ok := parseVarRef(ref, globals)
		if !ok {
			lit.WriteString("${")
			i += 2
			continue
		}
		if lit.Len() > 0 {
			parts = append(parts, valuePart{lit: lit.String(), num: -1})
			lit.Reset()
		}
		parts = append(parts, p)
		i += 2 + end + 1
	}
	if len(parts) == 0 {
		return constValue(lit.String())
	}
	if lit.Len() > 0 {
		parts = append(parts, valuePart{lit: lit.String(), num: -1})
	}
	return value{lit: s, parts: parts}
}

func parseVarRef(ref string, globals map[string]bool) (valuePart, bool) {
	if ref == "" {
		return valuePart{}, false
	}
	if isDigit(ref[0]) {
		for i := 0; i < len(ref); i++ {
			if !isDigit(ref[i]) {
				return valuePart{}, false
			}
		}
		n, err := strconv.Atoi(ref)
		if err != nil || n > 1000 {
			n = 1000
		}
		return valuePart{isVar: true, num: n}, true
	}
	segs := strings.Split(ref, ".")
	for _, s := range segs {
		if !isVarName(s) {
			return valuePart{}, false
		}
	}
	name := strings.ToLower(ref)
	if len(segs) == 2 && segs[0] == "global" || strings.HasPrefix(name, "global.") {
		return valuePart{isVar: true, name: strings.TrimPrefix(name, "global."), global: true, num: -1}, true
	}
	if len(segs) > 1 {
		// Unknown namespaces expand to the empty string.
		return valuePart{isVar: true, name: "\x00" + name, num: -1}, true
	}
	return valuePart{isVar: true, name: name, global: globals[name], num: -1}, true
}

// decodeEncodedCharacters implements RFC 5228 section 2.4.2.4: ${hex:..}
// and ${unicode:..} in strings. Malformed encodings are left as written;
// a Unicode value outside the valid ranges is an error.
func decodeEncodedCharacters(s string) (string, bool) {
	if !strings.Contains(s, "${") {
		return s, true
	}
	var b strings.Builder
	i := 0
	for i < len(s) {
		j := strings.Index(s[i:], "${")
		if j < 0 {
			b.WriteString(s[i:])
			break
		}
		b.WriteString(s[i : i+j])
		i += j
		end := strings.IndexByte(s[i:], '}')
		if end < 0 {
			b.WriteString(s[i:])
			break
		}
		body := s[i+2 : i+end]
		colon := strings.IndexByte(body, ':')
		if colon > 0 {
			kind := strings.ToLower(body[:colon])
			out, ok, fatal := decodeEncoding(kind, body[colon+1:])
			if fatal {
				return "", false
			}
			if ok {
				b.WriteString(out)
				i += end + 1
				continue
			}
		}
		b.WriteString("${")
		i += 2
	}
	return b.String(), true
}

func decodeEncoding(kind, body string) (out string, ok, fatal bool) {
	if kind != "hex" && kind != "unicode" {
		return "", false, false
	}
	fields := strings.FieldsFunc(body, func(r rune) bool { return r == ' ' || r == '\t' || r == '\r' || r == '\n' })
	// Only linear white space may separate the values.
	for _, c := range body {
		if c != ' ' && c != '\t' && c != '\r' && c != '\n' && !isHexRune(c) {
			return "", false, false
		}
	}
	var b strings.Builder
	for _, f := range fields {
		if kind == "hex" {
			if len(f)%2 != 0 {
				return "", false, false
			}
			for k := 0; k < len(f); k += 2 {
				n, _ := strconv.ParseUint(f[k:k+2], 16, 8)
				b.WriteByte(byte(n))
			}
			continue
		}
		n, err := strconv.ParseUint(f, 16, 32)
		if err != nil || len(f) > 8 {
			return "", false, true
		}
		if n > 0x10FFFF || (n >= 0xD800 && n <= 0xDFFF) {
			return "", false, true
		}
		b.WriteRune(rune(n))
	}
	return b.String(), true, false
}

func isHexRune(c rune) bool {
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')
}

// truncateUTF8 cuts s to at most n bytes without splitting a character.
func truncateUTF8(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}
