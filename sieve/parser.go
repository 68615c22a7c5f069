package sieve

// The parser builds the syntax tree of RFC 5228 section 8.2. It knows the
// grammar only; which commands, tests and tags exist is checked later by
// the validator (validate.go) against the capabilities the script requires.

type argKind int

const (
	argTag argKind = iota
	argNumber
	argStrings // a string or a string list
)

type strLit struct {
	s   string
	pos pos
}

type argument struct {
	kind   argKind
	pos    pos
	tag    string
	num    uint64
	strs   []strLit
	isList bool // written as [ ... ] (even with one element)
}

type testNode struct {
	name  string
	pos   pos
	args  []argument
	tests []*testNode
	// listed is true when tests came from a parenthesised test-list.
	listed bool
}

type commandNode struct {
	name     string
	pos      pos
	args     []argument
	tests    []*testNode
	listed   bool
	hasBlock bool
	block    []*commandNode
}

type parser struct {
	toks     []token
	i        int
	maxDepth int
}

func parse(src string, maxDepth int) ([]*commandNode, *CompileError) {
	toks, err := lex(src)
	if err != nil {
		return nil, err
	}
	p := &parser{toks: toks, maxDepth: maxDepth}
	cmds, err := p.commands(0)
	if err != nil {
		return nil, err
	}
	if t := p.peek(); t.kind != tEOF {
		return nil, errAt(t.pos, ClassSyntax, "unexpected %s", t.kind)
	}
	return cmds, nil
}

func (p *parser) peek() token { return p.toks[p.i] }
func (p *parser) take() token {
	t := p.toks[p.i]
	if t.kind != tEOF {
		p.i++
	}
	return t
}

func (p *parser) commands(depth int) ([]*commandNode, *CompileError) {
	var out []*commandNode
	for {
		t := p.peek()
		if t.kind != tIdent {
			return out, nil
		}
		c, err := p.command(depth)
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
}

func (p *parser) command(depth int) (*commandNode, *CompileError) {
	t := p.take()
	c := &commandNode{name: t.text, pos: t.pos}
	args, err := p.arguments()
	if err != nil {
		return nil, err
	}
	c.args = args
	switch p.peek().kind {
	case tIdent:
		tst, err := p.test(depth + 1)
		if err != nil {
			return nil, err
		}
		c.tests = []*testNode{tst}
	case tLParen:
		c.listed = true
		c.tests, err = p.testList(depth + 1)
		if err != nil {
			return nil, err
		}
	}
	switch nt := p.take(); nt.kind {
	case tSemicolon:
	case tLBrace:
		if depth+1 > p.maxDepth {
			return nil, errAt(nt.pos, ClassSyntax, "blocks nested too deeply (limit %d)", p.maxDepth)
		}
		c.hasBlock = true
		c.block, err = p.commands(depth + 1)
		if err != nil {
			return nil, err
		}
		if end := p.take(); end.kind != tRBrace {
			return nil, errAt(end.pos, ClassSyntax, "expected '}' but found %s", end.kind)
		}
	default:
		return nil, errAt(nt.pos, ClassSyntax, "expected ';' or '{' after command %s but found %s", c.name, nt.kind)
	}
	return c, nil
}

func (p *parser) arguments() ([]argument, *CompileError) {
	var args []argument
	for {
		t := p.peek()
		switch t.kind {
		case tTag:
			p.take()
			args = append(args, argument{kind: argTag, pos: t.pos, tag: t.text})
		case tNumber:
			p.take()
			args = append(args, argument{kind: argNumber, pos: t.pos, num: t.num})
		case tString:
			p.take()
			args = append(args, argument{kind: argStrings, pos: t.pos, strs: []strLit{{t.text, t.pos}}})
		case tLBracket:
			p.take()
			a := argument{kind: argStrings, pos: t.pos, isList: true}
			for {
				s := p.take()
				if s.kind != tString {
					return nil, errAt(s.pos, ClassSyntax, "expected a string in string list but found %s", s.kind)
				}
				a.strs = append(a.strs, strLit{s.text, s.pos})
				sep := p.take()
				if sep.kind == tRBracket {
					break
				}
				if sep.kind != tComma {
					return nil, errAt(sep.pos, ClassSyntax, "expected ',' or ']' in string list but found %s", sep.kind)
				}
			}
			args = append(args, a)
		default:
			return args, nil
		}
	}
}

func (p *parser) test(depth int) (*testNode, *CompileError) {
	t := p.take()
	if t.kind != tIdent {
		return nil, errAt(t.pos, ClassSyntax, "expected a test but found %s", t.kind)
	}
	if depth > p.maxDepth {
		return nil, errAt(t.pos, ClassSyntax, "tests nested too deeply (limit %d)", p.maxDepth)
	}
	n := &testNode{name: t.text, pos: t.pos}
	args, err := p.arguments()
	if err != nil {
		return nil, err
	}
	n.args = args
	switch p.peek().kind {
	case tIdent:
		tst, err := p.test(depth + 1)
		if err != nil {
			return nil, err
		}
		n.tests = []*testNode{tst}
	case tLParen:
		n.listed = true
		n.tests, err = p.testList(depth + 1)
		if err != nil {
			return nil, err
		}
	}
	return n, nil
}

func (p *parser) testList(depth int) ([]*testNode, *CompileError) {
	open := p.take()
	if p.peek().kind == tRParen {
		return nil, errAt(open.pos, ClassSyntax, "empty test list")
	}
	var out []*testNode
	for {
		t, err := p.test(depth)
		if err != nil {
			return nil, err
		}
		out = append(out, t)
		sep := p.take()
		if sep.kind == tRParen {
			return out, nil
		}
		if sep.kind != tComma {
			return nil, errAt(sep.pos, ClassSyntax, "expected ',' or ')' in test list but found %s", sep.kind)
		}
	}
}
