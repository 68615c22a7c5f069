package sieve

import (
	"strings"
	"unicode/utf8"
)

// imap4flags (RFC 5232): setflag, addflag, removeflag, hasflag and the
// internal flag variable that keep/fileinto use when :flags is absent.

type flagOp int

const (
	flagSet flagOp = iota
	flagAdd
	flagRemove
)

type flagCmd struct {
	op     flagOp
	hasVar bool
	name   string
	global bool
	flags  []value
}

func buildFlagCmd(op flagOp) func(*compiler, *parsedArgs) (cmd, *CompileError) {
	return func(c *compiler, pa *parsedArgs) (cmd, *CompileError) {
		x := flagCmd{op: op}
		switch len(pa.pos) {
		case 1:
			if err := pa.positional(pStringList); err != nil {
				return nil, err
			}
		case 2:
			if err := pa.positional(pString, pStringList); err != nil {
				return nil, err
			}
			if !c.has("variables") {
				return nil, errAt(pa.pos[0].pos, ClassArgument, "%s: a variable name needs the variables extension", pa.name)
			}
			name, global, ok := c.varTarget(pa.pos[0].strs[0].s)
			if !ok {
				return nil, errAt(pa.pos[0].pos, ClassArgument, "%s: invalid variable name %q", pa.name, pa.pos[0].strs[0].s)
			}
			x.hasVar, x.name, x.global = true, name, global
			pa.pos = pa.pos[1:]
		default:
			return nil, errAt(pa.at, ClassArgument, "%s requires one or two arguments", pa.name)
		}
		vs, err := c.strs(pa.pos[0])
		if err != nil {
			return nil, err
		}
		x.flags = vs
		return x, nil
	}
}

func (x flagCmd) exec(st *runState) error {
	var cur []string
	if x.hasVar {
		cur = strings.Fields(st.getVar(x.name, x.global))
	} else {
		cur = st.flags
	}
	in := splitFlags(st.expandAll(x.flags))
	switch x.op {
	case flagSet:
		cur = addFlags(nil, in)
	case flagAdd:
		cur = addFlags(append([]string(nil), cur...), in)
	case flagRemove:
		cur = removeFlags(cur, in)
	}
	if x.hasVar {
		st.setVar(x.name, x.global, strings.Join(cur, " "))
	} else {
		st.flags = cur
	}
	return nil
}

// splitFlags splits flag-list strings at spaces (RFC 5232 section 3).
func splitFlags(ss []string) []string {
	var out []string
	for _, s := range ss {
		out = append(out, strings.Fields(s)...)
	}
	return out
}

func addFlags(cur, in []string) []string {
	for _, f := range in {
		if !containsFold(cur, f) {
			cur = append(cur, f)
		}
	}
	return cur
}

func removeFlags(cur, in []string) []string {
	var out []string
	for _, f := range cur {
		if !containsFold(in, f) {
			out = append(out, f)
		}
	}
	return out
}

func containsFold(list []string, s string) bool {
	for _, x := range list {
		if strings.EqualFold(x, s) {
			return true
		}
	}
	return false
}

var systemFlags = []string{`\answered`, `\flagged`, `\deleted`, `\seen`, `\draft`}

// validFlags drops what IMAP could not store: unknown system flags and
// keywords that are not atoms (RFC 3501 section 9), as Pigeonhole ignores
// them with a warning. Duplicates are dropped case-insensitively.
func validFlags(in []string) []string {
	var out []string
	for _, f := range in {
		if !validFlag(f) || containsFold(out, f) {
			continue
		}
		out = append(out, f)
	}
	return out
}

func validFlag(f string) bool {
	if strings.HasPrefix(f, `\`) {
		return containsFold(systemFlags, f)
	}
	if f == "" {
		return false
	}
	for i := 0; i < len(f); i++ {
		c := f[i]
		if c <= 0x20 || c >= 0x7f || strings.IndexByte(`(){%*"\]`, c) >= 0 {
			return false
		}
	}
	return true
}

func utf8Valid(s string) bool { return utf8.ValidString(s) }

// hasflag test.
type hasflagTest struct {
	hasVars bool
	vars    []varRef
	m       *matcher
}

type varRef struct {
	name   string
	global bool
}

func buildHasflag(c *compiler, pa *parsedArgs) (test, *CompileError) {
	x := &hasflagTest{}
	switch len(pa.pos) {
	case 1:
		if err := pa.positional(pStringList); err != nil {
			return nil, err
		}
	case 2:
		if err := pa.positional(pStringList, pStringList); err != nil {
			return nil, err
		}
		if !c.has("variables") {
			return nil, errAt(pa.pos[0].pos, ClassArgument, "hasflag: variable names need the variables extension")
		}
		for _, s := range pa.pos[0].strs {
			name, global, ok := c.varTarget(s.s)
			if !ok {
				return nil, errAt(s.pos, ClassArgument, "hasflag: invalid variable name %q", s.s)
			}
			x.vars = append(x.vars, varRef{name, global})
		}
		x.hasVars = true
		pa.pos = pa.pos[1:]
	default:
		return nil, errAt(pa.at, ClassArgument, "hasflag requires one or two arguments")
	}
	m, err := c.matcher(pa, pa.pos[0])
	if err != nil {
		return nil, err
	}
	x.m = m
	return x, nil
}

func (x *hasflagTest) eval(st *runState) (bool, error) {
	var flags []string
	if x.hasVars {
		for _, v := range x.vars {
			flags = addFlags(flags, strings.Fields(st.getVar(v.name, v.global)))
		}
	} else {
		flags = st.flags
	}
	return x.m.test(st, flags)
}
