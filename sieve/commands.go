package sieve

import (
	"errors"
	"strings"
)

// The command table: RFC 5228 section 4 and the action extensions. Each
// entry names the capability that enables it, the tags it takes, and a
// builder that checks the positional arguments and returns the command.

type commandSpec struct {
	cap   string
	tags  map[string]tagSpec
	build func(*compiler, *parsedArgs) (cmd, *CompileError)
}

var flagsTag = map[string]tagSpec{"flags": {cap: "imap4flags", param: pStringList}}
var copyTag = map[string]tagSpec{"copy": {cap: "copy"}}

func mergeTags(sets ...map[string]tagSpec) map[string]tagSpec {
	out := map[string]tagSpec{}
	for _, s := range sets {
		for k, v := range s {
			out[k] = v
		}
	}
	return out
}

var commandTable map[string]commandSpec

func init() {
	// init only fills a read-only table; it keeps the table next to the
	// builders, which refer back to it.
	commandTable = map[string]commandSpec{
		"stop":     {build: noArgs(stopCmd{})},
		"discard":  {build: noArgs(discardCmd{})},
		"keep":     {tags: flagsTag, build: buildKeep},
		"redirect": {tags: copyTag, build: buildRedirect},
		"fileinto": {cap: "fileinto", tags: mergeTags(copyTag, flagsTag, map[string]tagSpec{
			"create": {cap: "mailbox"}, "specialuse": {cap: "special-use", param: pString}}), build: buildFileinto},
		"reject":       {cap: "reject", build: buildReject(false)},
		"ereject":      {cap: "ereject", build: buildReject(true)},
		"setflag":      {cap: "imap4flags", build: buildFlagCmd(flagSet)},
		"addflag":      {cap: "imap4flags", build: buildFlagCmd(flagAdd)},
		"removeflag":   {cap: "imap4flags", build: buildFlagCmd(flagRemove)},
		"set":          {cap: "variables", tags: setModifierTags, build: buildSet},
		"vacation":     {cap: "vacation", tags: vacationTags, build: buildVacation},
		"include":      {cap: "include", tags: includeTags, build: buildInclude},
		"return":       {cap: "include", build: noArgs(returnCmd{})},
		"global":       {cap: "include", build: buildGlobal},
		"addheader":    {cap: "editheader", tags: map[string]tagSpec{"last": {}}, build: buildAddheader},
		"deleteheader": {cap: "editheader", tags: deleteheaderTags, build: buildDeleteheader},
		"notify":       {cap: "enotify", tags: notifyTags, build: buildNotify},
		"error":        {cap: "ihave", build: buildError},
		"break":        {cap: "foreverypart", tags: map[string]tagSpec{"name": {param: pString}}, build: buildBreak},
		"extracttext":  {cap: "extracttext", tags: extracttextTags, build: buildExtracttext},
	}
}

func noArgs(c cmd) func(*compiler, *parsedArgs) (cmd, *CompileError) {
	return func(_ *compiler, pa *parsedArgs) (cmd, *CompileError) {
		if err := pa.positional(); err != nil {
			return nil, err
		}
		return c, nil
	}
}

// Control.

type ifCmd struct {
	conds  []test // nil entry: else
	blocks [][]cmd
}

func (x *ifCmd) exec(st *runState) error {
	for i, c := range x.conds {
		ok := true
		if c != nil {
			if err := st.step(); err != nil {
				return err
			}
			var err error
			if ok, err = c.eval(st); err != nil {
				return err
			}
		}
		if ok {
			return st.run(x.blocks[i])
		}
	}
	return nil
}

type stopCmd struct{}

func (stopCmd) exec(*runState) error { return errStop }

type returnCmd struct{}

func (returnCmd) exec(*runState) error { return errReturn }

type notTest struct{ t test }

func (n notTest) eval(st *runState) (bool, error) {
	ok, err := n.t.eval(st)
	return !ok, err
}

type listTest struct {
	all   bool
	tests []test
}

func (l listTest) eval(st *runState) (bool, error) {
	for _, t := range l.tests {
		if err := st.step(); err != nil {
			return false, err
		}
		ok, err := t.eval(st)
		if err != nil {
			return false, err
		}
		if ok != l.all {
			return ok, nil
		}
	}
	return l.all, nil
}

// Actions.

type discardCmd struct{}

func (discardCmd) exec(st *runState) error {
	st.implicitKeep = false
	return st.addAction(Discard{})
}

// flagSource is either :flags (fixed list) or the internal variable.
type flagSource struct {
	set   bool
	flags []value
}

func (f flagSource) resolve(st *runState) []string {
	if !f.set {
		return validFlags(st.flags)
	}
	return validFlags(splitFlags(st.expandAll(f.flags)))
}

func (c *compiler) flagSource(pa *parsedArgs) (flagSource, *CompileError) {
	a, ok := pa.tags["flags"]
	if !ok {
		return flagSource{}, nil
	}
	vs, err := c.strs(a)
	if err != nil {
		return flagSource{}, err
	}
	return flagSource{set: true, flags: vs}, nil
}

type keepCmd struct{ flags flagSource }

func buildKeep(c *compiler, pa *parsedArgs) (cmd, *CompileError) {
	if err := pa.positional(); err != nil {
		return nil, err
	}
	f, err := c.flagSource(pa)
	if err != nil {
		return nil, err
	}
	return keepCmd{f}, nil
}

func (k keepCmd) exec(st *runState) error {
	st.implicitKeep = false
	return st.addAction(Keep{Flags: k.flags.resolve(st), Header: st.header})
}

type fileintoCmd struct {
	mailbox value
	flags   flagSource
	copy    bool
	create  bool
	// specialUse (RFC 8579): store into the mailbox with this attribute
	// if there is one, else into mailbox.
	specialUse *value
}

func buildFileinto(c *compiler, pa *parsedArgs) (cmd, *CompileError) {
	if err := pa.positional(pString); err != nil {
		return nil, err
	}
	mb, err := c.one(pa.pos[0])
	if err != nil {
		return nil, err
	}
	if mb.isConst() && !validMailboxName(mb.lit) {
		return nil, errAt(pa.pos[0].pos, ClassArgument, "invalid mailbox name %q", mb.lit)
	}
	f, err := c.flagSource(pa)
	if err != nil {
		return nil, err
	}
	x := fileintoCmd{mailbox: mb, flags: f, copy: pa.has("copy"), create: pa.has("create")}
	if a, ok := pa.tags["specialuse"]; ok {
		v, err := c.one(a)
		if err != nil {
			return nil, err
		}
		if v.isConst() && !validSpecialUse(v.lit) {
			return nil, errAt(a.pos, ClassArgument, "fileinto: invalid special-use flag %q", v.lit)
		}
		x.specialUse = &v
	}
	return x, nil
}

// validMailboxName rejects names no store could hold: empty, or with
// control characters (Pigeonhole checks the UTF-8 mailbox name).
func validMailboxName(s string) bool {
	if s == "" || !utf8Valid(s) {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 || s[i] == 0x7f {
			return false
		}
	}
	return true
}

func (f fileintoCmd) exec(st *runState) error {
	mb := st.expand(f.mailbox)
	if !validMailboxName(mb) {
		return errors.New("fileinto: invalid mailbox name " + quoteJSON(mb))
	}
	if !f.copy {
		st.implicitKeep = false
	}
	a := FileInto{Mailbox: mb, Flags: f.flags.resolve(st), Create: f.create, Copy: f.copy, Header: st.header}
	if f.specialUse != nil {
		a.SpecialUse = st.expand(*f.specialUse)
		if !validSpecialUse(a.SpecialUse) {
			return errors.New("fileinto: invalid special-use flag " + quoteJSON(a.SpecialUse))
		}
	}
	return st.addAction(a)
}

type redirectCmd struct {
	addr value
	copy bool
}

func buildRedirect(c *compiler, pa *parsedArgs) (cmd, *CompileError) {
	if err := pa.positional(pString); err != nil {
		return nil, err
	}
	v, err := c.one(pa.pos[0])
	if err != nil {
		return nil, err
	}
	if v.isConst() {
		if _, ok := validRedirectAddress(v.lit); !ok {
			return nil, errAt(pa.pos[0].pos, ClassArgument, "invalid redirect address %q", v.lit)
		}
	}
	return redirectCmd{addr: v, copy: pa.has("copy")}, nil
}

func (r redirectCmd) exec(st *runState) error {
	raw := st.expand(r.addr)
	addr, ok := validRedirectAddress(raw)
	if !ok {
		return errors.New("redirect: invalid address " + quoteJSON(raw))
	}
	if !r.copy {
		st.implicitKeep = false
	}
	return st.addAction(Redirect{Address: addr, Copy: r.copy, Header: st.header})
}

type rejectCmd struct {
	reason   value
	extended bool
}

func buildReject(extended bool) func(*compiler, *parsedArgs) (cmd, *CompileError) {
	return func(c *compiler, pa *parsedArgs) (cmd, *CompileError) {
		if err := pa.positional(pString); err != nil {
			return nil, err
		}
		v, err := c.one(pa.pos[0])
		if err != nil {
			return nil, err
		}
		return rejectCmd{reason: v, extended: extended}, nil
	}
}

func (r rejectCmd) exec(st *runState) error {
	st.implicitKeep = false
	return st.addAction(Reject{Reason: st.expand(r.reason), Extended: r.extended})
}

// include (RFC 6609).

var includeTags = map[string]tagSpec{
	"personal": {group: "location"}, "global": {group: "location"},
	"once": {}, "optional": {},
}

type includeCmd struct {
	unit *unit // nil: optional and missing
	once bool
}

func buildInclude(c *compiler, pa *parsedArgs) (cmd, *CompileError) {
	if err := pa.positional(pString); err != nil {
		return nil, err
	}
	v, err := c.one(pa.pos[0])
	if err != nil {
		return nil, err
	}
	if !v.isConst() {
		return nil, errAt(pa.pos[0].pos, ClassArgument, "include: the script name must be a constant string")
	}
	name := v.lit
	if name == "" || strings.ContainsAny(name, "/\x00") || !utf8Valid(name) {
		return nil, errAt(pa.pos[0].pos, ClassArgument, "include: invalid script name %q", name)
	}
	loc := Personal
	if pa.has("global") {
		loc = Global
	}
	u, err := c.cp.loadInclude(pa.pos[0].pos, loc, name, pa.has("optional"), c.depth+1)
	if err != nil {
		return nil, err
	}
	return includeCmd{unit: u, once: pa.has("once")}, nil
}

func (x includeCmd) exec(st *runState) error {
	if x.unit == nil {
		return nil
	}
	if x.once && st.included[x.unit.key] {
		return nil
	}
	st.included[x.unit.key] = true
	saved := st.frame
	st.frame = &frame{unit: x.unit, vars: map[string]string{}}
	err := st.run(x.unit.cmds)
	st.frame = saved
	if err == errReturn {
		return nil
	}
	return err
}

type globalCmd struct{}

func (globalCmd) exec(*runState) error { return nil }

func buildGlobal(c *compiler, pa *parsedArgs) (cmd, *CompileError) {
	if err := pa.positional(pStringList); err != nil {
		return nil, err
	}
	for _, s := range pa.pos[0].strs {
		if !isVarName(s.s) {
			return nil, errAt(s.pos, ClassArgument, "global: invalid variable name %q", s.s)
		}
		c.globals[strings.ToLower(s.s)] = true
	}
	return globalCmd{}, nil
}
