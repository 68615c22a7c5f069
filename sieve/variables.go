package sieve

import (
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// The variables extension (RFC 5229): set with modifiers and the string test.

var setModifierTags = map[string]tagSpec{
	"lower": {}, "upper": {}, "lowerfirst": {}, "upperfirst": {},
	"quotewildcard": {}, "quoteregex": {cap: "regex"}, "length": {},
	"encodeurl": {cap: "enotify"},
}

// modifierPrecedence follows RFC 5229 section 4.1 (and the regex draft for
// :quoteregex); two modifiers of one precedence are an error.
var modifierPrecedence = map[string]int{
	"lower": 40, "upper": 40, "lowerfirst": 30, "upperfirst": 30,
	"quotewildcard": 20, "quoteregex": 20, "encodeurl": 15, "length": 10,
}

type setCmd struct {
	name      string
	global    bool
	val       value
	modifiers []string // highest precedence first
}

// varTarget validates a variable name used as an assignment target.
func (c *compiler) varTarget(s string) (name string, global bool, ok bool) {
	l := strings.ToLower(s)
	if strings.HasPrefix(l, "global.") {
		rest := l[len("global."):]
		return rest, true, isVarName(rest) && c.has("include")
	}
	if !isVarName(s) {
		return "", false, false
	}
	return l, c.globals[l], true
}

func buildSet(c *compiler, pa *parsedArgs) (cmd, *CompileError) {
	if err := pa.positional(pString, pString); err != nil {
		return nil, err
	}
	name, global, ok := c.varTarget(pa.pos[0].strs[0].s)
	if !ok {
		return nil, errAt(pa.pos[0].pos, ClassArgument, "set: invalid variable name %q", pa.pos[0].strs[0].s)
	}
	byPrec := map[int]string{}
	for tag := range pa.tags {
		p := modifierPrecedence[tag]
		if other, dup := byPrec[p]; dup {
			return nil, errAt(pa.tagPos[tag], ClassArgument, "set: modifiers :%s and :%s cannot be combined", other, tag)
		}
		byPrec[p] = tag
	}
	var mods []string
	for _, p := range []int{40, 30, 20, 15, 10} {
		if t, ok := byPrec[p]; ok {
			mods = append(mods, t)
		}
	}
	v, err := c.one(pa.pos[1])
	if err != nil {
		return nil, err
	}
	return setCmd{name: name, global: global, val: v, modifiers: mods}, nil
}

func (x setCmd) exec(st *runState) error {
	v := st.expand(x.val)
	for _, m := range x.modifiers {
		v = applyModifier(m, v)
	}
	st.setVar(x.name, x.global, v)
	return nil
}

func applyModifier(m, v string) string {
	switch m {
	case "lower":
		return strings.ToLower(v)
	case "upper":
		return strings.ToUpper(v)
	case "lowerfirst", "upperfirst":
		r, n := utf8.DecodeRuneInString(v)
		if n == 0 {
			return v
		}
		if m == "lowerfirst" {
			r = unicode.ToLower(r)
		} else {
			r = unicode.ToUpper(r)
		}
		return string(r) + v[n:]
	case "quotewildcard":
		var b strings.Builder
		for i := 0; i < len(v); i++ {
			if c := v[i]; c == '*' || c == '?' || c == '\\' {
				b.WriteByte('\\')
			}
			b.WriteByte(v[i])
		}
		return b.String()
	case "quoteregex":
		var b strings.Builder
		for i := 0; i < len(v); i++ {
			if strings.IndexByte(`\.+*?()[]{}|^$`, v[i]) >= 0 {
				b.WriteByte('\\')
			}
			b.WriteByte(v[i])
		}
		return b.String()
	case "encodeurl":
		return encodeURL(v)
	case "length":
		return strconv.Itoa(utf8.RuneCountInString(v))
	}
	return v
}

// string test (RFC 5229 section 5).
type stringTest struct {
	src []value
	m   *matcher
}

func buildString(c *compiler, pa *parsedArgs) (test, *CompileError) {
	if err := pa.positional(pStringList, pStringList); err != nil {
		return nil, err
	}
	src, err := c.strs(pa.pos[0])
	if err != nil {
		return nil, err
	}
	m, err := c.matcher(pa, pa.pos[1])
	if err != nil {
		return nil, err
	}
	return &stringTest{src: src, m: m}, nil
}

func (x *stringTest) eval(st *runState) (bool, error) {
	vals := st.expandAll(x.src)
	if x.m.mt == mtCount {
		// Empty strings are not counted (RFC 5229 section 5).
		var nonEmpty []string
		for _, v := range vals {
			if v != "" {
				nonEmpty = append(nonEmpty, v)
			}
		}
		vals = nonEmpty
	}
	return x.m.test(st, vals)
}
