package sieve

import (
	"fmt"
	"strings"
)

// environment (RFC 5183), ihave and error (RFC 5463), special-use
// (RFC 8579) and the imapsieve capability (RFC 6785).

// Environment items a caller did not set take these values, which are
// Pigeonhole's where the RFC leaves room.
func (o ExecOptions) environment(item string) (string, bool) {
	if v, ok := o.Environment[item]; ok {
		return v, true
	}
	switch item {
	case "name":
		return "Postern", true
	case "location":
		return "MS", true
	case "phase":
		return "during", true
	}
	return "", false
}

type environmentTest struct {
	name value
	m    *matcher
}

func buildEnvironment(c *compiler, pa *parsedArgs) (test, *CompileError) {
	if err := pa.positional(pString, pStringList); err != nil {
		return nil, err
	}
	n, err := c.one(pa.pos[0])
	if err != nil {
		return nil, err
	}
	m, err := c.matcher(pa, pa.pos[1])
	if err != nil {
		return nil, err
	}
	return &environmentTest{name: n, m: m}, nil
}

func (x *environmentTest) eval(st *runState) (bool, error) {
	item := strings.ToLower(st.expand(x.name))
	if strings.HasPrefix(item, "imap.") && !st.frame.unit.caps["imapsieve"] {
		return false, nil
	}
	v, ok := st.opts.environment(item)
	if !ok {
		return false, nil // an unknown item fails even :count (Pigeonhole)
	}
	return x.m.test(st, []string{v})
}

// ihave is true when every capability is one this engine supports in
// this context. A block guarded by ihave of an unsupported capability is
// not compiled (it could not run); one guarded by supported capabilities
// may use them without require (RFC 5463 section 4).
type ihaveTest struct{ ok bool }

func (x ihaveTest) eval(*runState) (bool, error) { return x.ok, nil }

func buildIhave(c *compiler, pa *parsedArgs) (test, *CompileError) {
	if err := pa.positional(pStringList); err != nil {
		return nil, err
	}
	ok := true
	for _, s := range pa.pos[0].strs {
		if !c.supported(s.s) {
			ok = false
		}
	}
	if ok {
		for _, s := range pa.pos[0].strs {
			c.enable(s.s)
		}
	}
	return ihaveTest{ok: ok}, nil
}

type errorCmd struct{ msg value }

func buildError(c *compiler, pa *parsedArgs) (cmd, *CompileError) {
	if err := pa.positional(pString); err != nil {
		return nil, err
	}
	v, err := c.one(pa.pos[0])
	if err != nil {
		return nil, err
	}
	return errorCmd{v}, nil
}

func (x errorCmd) exec(st *runState) error {
	return fmt.Errorf("error command: %s", st.expand(x.msg))
}

// specialuse_exists (RFC 8579 section 3).
type specialUseExistsTest struct {
	mailbox *value
	attrs   []value
}

func buildSpecialUseExists(c *compiler, pa *parsedArgs) (test, *CompileError) {
	x := &specialUseExistsTest{}
	switch len(pa.pos) {
	case 1:
	case 2:
		if err := checkKind(pa.pos[0], pString, "specialuse_exists mailbox"); err != nil {
			return nil, err
		}
		v, err := c.one(pa.pos[0])
		if err != nil {
			return nil, err
		}
		x.mailbox = &v
	default:
		return nil, errAt(pa.at, ClassArgument, "specialuse_exists requires [mailbox] and a list of special-use flags")
	}
	last := pa.pos[len(pa.pos)-1]
	if err := checkKind(last, pStringList, "specialuse_exists flags"); err != nil {
		return nil, err
	}
	vs, err := c.strs(last)
	if err != nil {
		return nil, err
	}
	for i, v := range vs {
		if v.isConst() && !validSpecialUse(v.lit) {
			return nil, errAt(last.strs[i].pos, ClassArgument, "invalid special-use flag %q", v.lit)
		}
	}
	x.attrs = vs
	return x, nil
}

func validSpecialUse(s string) bool {
	return len(s) > 1 && s[0] == '\\' && isAtomString(s[1:])
}

func isAtomString(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c <= 0x20 || c >= 0x7f || strings.IndexByte(`(){%*"\]`, c) >= 0 {
			return false
		}
	}
	return s != ""
}

func (x *specialUseExistsTest) eval(st *runState) (bool, error) {
	mb := ""
	if x.mailbox != nil {
		mb = st.expand(*x.mailbox)
	}
	for _, a := range st.expandAll(x.attrs) {
		if st.opts.SpecialUseExists == nil || !st.opts.SpecialUseExists(st.ctx, mb, a) {
			return false, nil
		}
	}
	return true, nil
}
