package sieve

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"strings"
)

// CompileOptions bounds what a script may be and how includes resolve.
type CompileOptions struct {
	// Loader resolves "include" (RFC 6609). Nil: every include fails
	// with an include error unless it is :optional.
	Loader ScriptLoader
	// MaxScriptSize in bytes; 0 means 1 MiB (Pigeonhole's default).
	MaxScriptSize int
	// MaxNesting of blocks and tests; 0 means 32.
	MaxNesting int
	// MaxIncludeDepth; 0 means 10.
	MaxIncludeDepth int
	// MaxIncludes, the number of distinct scripts one compilation may
	// pull in; 0 means 255.
	MaxIncludes int
	// IMAP compiles for an IMAP event (RFC 6785): the imapsieve
	// capability exists only there, as in Pigeonhole.
	IMAP bool
	// VacationFrom, when set, checks every constant vacation :from
	// address of the user's own scripts (not :global includes) at
	// compile time: an error refuses the script with the error's text.
	// A :from built from variables is left to the delivery agent.
	VacationFrom func(addr string) error
}

// ScriptLocation says where an included script lives (RFC 6609 section 3.2).
type ScriptLocation int

// The include locations.
const (
	Personal ScriptLocation = iota
	Global
)

// ScriptLoader returns the source of an included script. A script that
// does not exist must be reported with an error wrapping fs.ErrNotExist.
type ScriptLoader interface {
	LoadScript(ctx context.Context, loc ScriptLocation, name string) ([]byte, error)
}

func (o CompileOptions) withDefaults() CompileOptions {
	if o.MaxScriptSize <= 0 {
		o.MaxScriptSize = 1 << 20
	}
	if o.MaxNesting <= 0 {
		o.MaxNesting = 32
	}
	if o.MaxIncludeDepth <= 0 {
		o.MaxIncludeDepth = 10
	}
	if o.MaxIncludes <= 0 {
		o.MaxIncludes = 255
	}
	return o
}

// Script is a compiled script, safe for concurrent Execute calls.
type Script struct {
	name string
	unit *unit
}

// unit is one compiled script file (the main script or an include).
type unit struct {
	key  string // "personal:name" / "global:name"
	name string
	caps map[string]bool
	cmds []cmd
}

// compilation is shared by a script and everything it includes.
type compilation struct {
	opts  CompileOptions
	units map[string]*unit
	stack []string
}

// Compile parses and validates src. The error, if any, is a *CompileError.
func Compile(name string, src []byte, opts CompileOptions) (*Script, error) {
	cp := &compilation{opts: opts.withDefaults(), units: map[string]*unit{}}
	u, err := cp.compileUnit("personal:"+name, name, src, 0)
	if err != nil {
		return nil, err
	}
	return &Script{name: name, unit: u}, nil
}

// Name returns the name the script was compiled under.
func (s *Script) Name() string { return s.name }

func (cp *compilation) compileUnit(key, name string, src []byte, depth int) (*unit, *CompileError) {
	if len(src) > cp.opts.MaxScriptSize {
		return nil, &CompileError{Class: ClassSyntax, Script: name, Line: 1, Col: 1,
			Msg: fmt.Sprintf("script is too large (%d bytes, limit %d)", len(src), cp.opts.MaxScriptSize)}
	}
	tree, cerr := parse(string(src), cp.opts.MaxNesting)
	if cerr != nil {
		cerr.Script = name
		return nil, cerr
	}
	u := &unit{key: key, name: name, caps: map[string]bool{}}
	cp.units[key] = u
	cp.stack = append(cp.stack, key)
	defer func() { cp.stack = cp.stack[:len(cp.stack)-1] }()
	c := &compiler{cp: cp, u: u, depth: depth, globals: map[string]bool{}}
	cmds, cerr := c.block(tree, true)
	if cerr != nil {
		if cerr.Script == "" {
			cerr.Script = name
		}
		return nil, cerr
	}
	u.cmds = cmds
	return u, nil
}

// loadInclude compiles an included script once per compilation.
func (cp *compilation) loadInclude(at pos, loc ScriptLocation, name string, optional bool, depth int) (*unit, *CompileError) {
	prefix := "personal:"
	if loc == Global {
		prefix = "global:"
	}
	key := prefix + name
	for _, k := range cp.stack {
		if k == key {
			return nil, errAt(at, ClassInclude, "circular include of script %q", name)
		}
	}
	if u, ok := cp.units[key]; ok {
		return u, nil
	}
	if depth > cp.opts.MaxIncludeDepth {
		return nil, errAt(at, ClassInclude, "includes nested too deeply (limit %d)", cp.opts.MaxIncludeDepth)
	}
	if len(cp.units) >= cp.opts.MaxIncludes {
		return nil, errAt(at, ClassInclude, "too many included scripts (limit %d)", cp.opts.MaxIncludes)
	}
	if cp.opts.Loader == nil {
		if optional {
			return nil, nil
		}
		return nil, errAt(at, ClassInclude, "included script %q does not exist", name)
	}
	src, err := cp.opts.Loader.LoadScript(context.Background(), loc, name)
	if err != nil {
		if optional && errors.Is(err, fs.ErrNotExist) {
			return nil, nil
		}
		return nil, errAt(at, ClassInclude, "included script %q: %v", name, err)
	}
	return cp.compileUnit(key, name, src, depth)
}

// compiler validates one unit's syntax tree against the command table and
// builds its executable form.
type compiler struct {
	cp       *compilation
	u        *unit
	depth    int
	globals  map[string]bool
	sawOther bool     // a command other than require was seen
	loops    []string // names of the enclosing foreverypart loops
}

func (c *compiler) has(cap string) bool { return cap == "" || c.u.caps[cap] }

// supported reports whether a capability can be required here.
func (c *compiler) supported(cap string) bool {
	if cap == "imapsieve" {
		return c.cp.opts.IMAP
	}
	return knownCaps[cap]
}

// enable turns a capability on, with the ones it implies.
func (c *compiler) enable(cap string) {
	c.u.caps[cap] = true
	for _, implied := range impliedCaps[cap] {
		c.u.caps[implied] = true
	}
}

var impliedCaps = map[string][]string{
	"vacation-seconds": {"vacation"},
	"spamtestplus":     {"spamtest"},
	"foreverypart":     {},
	"extracttext":      {},
}

func (c *compiler) block(nodes []*commandNode, top bool) ([]cmd, *CompileError) {
	var out []cmd
	for i := 0; i < len(nodes); i++ {
		n := nodes[i]
		switch n.name {
		case "require":
			if !top || c.sawOther {
				return nil, errAt(n.pos, ClassRequire, "require must come before any other command")
			}
			if err := c.require(n); err != nil {
				return nil, err
			}
			continue
		case "elsif", "else":
			return nil, errAt(n.pos, ClassSyntax, "%s without a preceding if", n.name)
		}
		c.sawOther = true
		if n.name == "foreverypart" && c.has("foreverypart") {
			x, err := c.foreverypart(n)
			if err != nil {
				return nil, err
			}
			out = append(out, x)
			continue
		}
		if n.name == "if" {
			x, next, err := c.ifChain(nodes, i)
			if err != nil {
				return nil, err
			}
			out = append(out, x)
			i = next - 1
			continue
		}
		x, err := c.command(n)
		if err != nil {
			return nil, err
		}
		if x != nil {
			out = append(out, x)
		}
	}
	return out, nil
}

var knownCaps = map[string]bool{
	"fileinto": true, "envelope": true, "encoded-character": true, "reject": true,
	"imap4flags": true, "variables": true, "vacation": true, "vacation-seconds": true,
	"subaddress": true, "relational": true, "comparator-i;ascii-numeric": true,
	"comparator-i;octet": true, "comparator-i;ascii-casemap": true, "copy": true, "body": true,
	"regex": true, "mailbox": true, "include": true, "date": true, "index": true, "duplicate": true,
	"spamtest": true, "spamtestplus": true, "virustest": true, "editheader": true,
	"enotify": true, "environment": true, "ihave": true, "mime": true, "foreverypart": true,
	"extracttext": true, "special-use": true,
}

func (c *compiler) require(n *commandNode) *CompileError {
	if len(n.args) != 1 || n.args[0].kind != argStrings || len(n.tests) > 0 || n.hasBlock {
		if n.hasBlock {
			return errAt(n.pos, ClassSyntax, "require takes no block")
		}
		return errAt(n.pos, ClassArgument, "require takes one string list")
	}
	for _, s := range n.args[0].strs {
		if !c.supported(s.s) {
			return errAt(s.pos, ClassRequire, "unknown capability %q%s", s.s, missingHint(s.s))
		}
		c.enable(s.s)
	}
	if c.u.caps["extracttext"] && !c.u.caps["foreverypart"] {
		return errAt(n.pos, ClassArgument, "extracttext cannot be used without foreverypart")
	}
	return nil
}

// ifChain compiles if / elsif* / else? starting at nodes[i].
func (c *compiler) ifChain(nodes []*commandNode, i int) (cmd, int, *CompileError) {
	x := &ifCmd{}
	for ; i < len(nodes); i++ {
		n := nodes[i]
		isElse := n.name == "else"
		if len(x.conds) > 0 && n.name != "elsif" && !isElse {
			break
		}
		if !n.hasBlock {
			return nil, 0, errAt(n.pos, ClassSyntax, "%s requires a block", n.name)
		}
		if len(n.args) > 0 {
			return nil, 0, errAt(n.args[0].pos, ClassSyntax, "%s expects a test, not an argument", n.name)
		}
		var t test
		var err *CompileError
		if isElse {
			if len(n.tests) > 0 {
				return nil, 0, errAt(n.pos, ClassSyntax, "else takes no test")
			}
		} else {
			if len(n.tests) != 1 || n.listed {
				return nil, 0, errAt(n.pos, ClassSyntax, "%s requires exactly one test", n.name)
			}
			t, err = c.test(n.tests[0])
			if err != nil {
				return nil, 0, err
			}
		}
		var body []cmd
		if ih, ok := t.(ihaveTest); ok && !ih.ok {
			// RFC 5463 section 4: the block of a false ihave is never
			// run and may use what this engine does not have.
		} else if body, err = c.block(n.block, false); err != nil {
			return nil, 0, err
		}
		x.conds = append(x.conds, t)
		x.blocks = append(x.blocks, body)
		if isElse {
			i++
			break
		}
	}
	return x, i, nil
}

func (c *compiler) command(n *commandNode) (cmd, *CompileError) {
	spec, ok := commandTable[n.name]
	if !ok || !c.has(spec.cap) {
		if _, isTest := testTable[n.name]; isTest {
			return nil, errAt(n.pos, ClassUnknownCommand, "%s is a test, not a command", n.name)
		}
		return nil, errAt(n.pos, ClassUnknownCommand, "unknown command %s", n.name)
	}
	if n.hasBlock {
		return nil, errAt(n.pos, ClassSyntax, "command %s takes no block", n.name)
	}
	if len(n.tests) > 0 {
		return nil, errAt(n.pos, ClassArgument, "command %s takes no test", n.name)
	}
	pa, err := c.collect(n.name, n.pos, n.args, spec.tags)
	if err != nil {
		return nil, err
	}
	x, err := spec.build(c, pa)
	if err != nil {
		return nil, err
	}
	if x == nil {
		return nil, nil
	}
	return &located{line: n.pos.line, c: x}, nil
}

func (c *compiler) test(n *testNode) (test, *CompileError) {
	switch n.name {
	case "not", "anyof", "allof":
		return c.logical(n)
	}
	spec, ok := testTable[n.name]
	if !ok || !c.has(spec.cap) {
		if _, isCmd := commandTable[n.name]; isCmd || n.name == "if" || n.name == "require" {
			return nil, errAt(n.pos, ClassUnknownTest, "%s is a command, not a test", n.name)
		}
		return nil, errAt(n.pos, ClassUnknownTest, "unknown test %s", n.name)
	}
	if len(n.tests) > 0 {
		return nil, errAt(n.pos, ClassArgument, "test %s takes no test argument", n.name)
	}
	pa, err := c.collect(n.name, n.pos, n.args, spec.tags)
	if err != nil {
		return nil, err
	}
	return spec.build(c, pa)
}

func (c *compiler) logical(n *testNode) (test, *CompileError) {
	if len(n.args) > 0 {
		return nil, errAt(n.args[0].pos, ClassSyntax, "%s takes tests, not arguments", n.name)
	}
	if n.name == "not" {
		if len(n.tests) != 1 || n.listed {
			return nil, errAt(n.pos, ClassSyntax, "not requires one test")
		}
		t, err := c.test(n.tests[0])
		if err != nil {
			return nil, err
		}
		return notTest{t}, nil
	}
	if !n.listed || len(n.tests) == 0 {
		return nil, errAt(n.pos, ClassSyntax, "%s requires a test list", n.name)
	}
	ts := make([]test, 0, len(n.tests))
	for _, sub := range n.tests {
		t, err := c.test(sub)
		if err != nil {
			return nil, err
		}
		ts = append(ts, t)
	}
	return listTest{all: n.name == "allof", tests: ts}, nil
}

// Argument collection.

type paramKind int

const (
	pNone paramKind = iota
	pNumber
	pString
	pStringList
)

type tagSpec struct {
	cap   string
	group string
	param paramKind
}

type parsedArgs struct {
	name   string
	at     pos
	tags   map[string]argument
	tagPos map[string]pos
	groups map[string]string
	pos    []argument
}

func (pa *parsedArgs) has(tag string) bool { _, ok := pa.tags[tag]; return ok }

func (c *compiler) collect(name string, at pos, args []argument, tags map[string]tagSpec) (*parsedArgs, *CompileError) {
	pa := &parsedArgs{name: name, at: at, tags: map[string]argument{}, tagPos: map[string]pos{}, groups: map[string]string{}}
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a.kind != argTag {
			pa.pos = append(pa.pos, a)
			continue
		}
		spec, ok := tags[a.tag]
		if !ok || !c.has(spec.cap) {
			return nil, errAt(a.pos, ClassUnknownTag, "unknown tag :%s for %s", a.tag, name)
		}
		if len(pa.pos) > 0 {
			return nil, errAt(a.pos, ClassArgument, "tag :%s after positional arguments of %s", a.tag, name)
		}
		if _, dup := pa.tags[a.tag]; dup {
			return nil, errAt(a.pos, ClassArgument, "duplicate tag :%s for %s", a.tag, name)
		}
		if spec.group != "" {
			if other, dup := pa.groups[spec.group]; dup {
				return nil, errAt(a.pos, ClassArgument, "tag :%s conflicts with :%s for %s", a.tag, other, name)
			}
			pa.groups[spec.group] = a.tag
		}
		var param argument
		if spec.param != pNone {
			if i+1 >= len(args) {
				return nil, errAt(a.pos, ClassArgument, "tag :%s of %s requires an argument", a.tag, name)
			}
			i++
			param = args[i]
			if err := checkKind(param, spec.param, ":"+a.tag); err != nil {
				return nil, err
			}
		}
		pa.tags[a.tag] = param
		pa.tagPos[a.tag] = a.pos
	}
	return pa, nil
}

func checkKind(a argument, want paramKind, what string) *CompileError {
	switch want {
	case pNumber:
		if a.kind != argNumber {
			return errAt(a.pos, ClassArgument, "%s requires a number", what)
		}
	case pString:
		if a.kind != argStrings || a.isList {
			return errAt(a.pos, ClassArgument, "%s requires a string", what)
		}
	case pStringList:
		if a.kind != argStrings {
			return errAt(a.pos, ClassArgument, "%s requires a string list", what)
		}
	}
	return nil
}

// positional checks the positional arguments against kinds.
func (pa *parsedArgs) positional(kinds ...paramKind) *CompileError {
	if len(pa.pos) != len(kinds) {
		return errAt(pa.at, ClassArgument, "%s requires %d positional arguments, got %d", pa.name, len(kinds), len(pa.pos))
	}
	for i, k := range kinds {
		if err := checkKind(pa.pos[i], k, pa.name); err != nil {
			return err
		}
	}
	return nil
}

// str compiles one string literal (encoded-character, then variables).
func (c *compiler) str(s strLit) (value, *CompileError) {
	v := s.s
	if c.has("encoded-character") {
		d, ok := decodeEncodedCharacters(v)
		if !ok {
			return value{}, errAt(s.pos, ClassArgument, "invalid encoded character in string")
		}
		v = d
	}
	if c.has("variables") {
		return parseValue(v, c.globals), nil
	}
	return constValue(v), nil
}

func (c *compiler) strs(a argument) ([]value, *CompileError) {
	out := make([]value, 0, len(a.strs))
	for _, s := range a.strs {
		v, err := c.str(s)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, nil
}

func (c *compiler) one(a argument) (value, *CompileError) { return c.str(a.strs[0]) }

func lowerAll(ss []string) []string {
	out := make([]string, len(ss))
	for i, s := range ss {
		out[i] = strings.ToLower(s)
	}
	return out
}
