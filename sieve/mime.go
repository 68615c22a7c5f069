package sieve

import (
	"mime"
	"strings"
)

// mime, foreverypart and extracttext (RFC 5703) over the part tree of
// mimetree.go (mimeparse's limits: an attacker cannot lift them).

const maxForeverNest = 8 // foreverypart loops inside each other

// The :mime options of header, address and exists (RFC 5703 section 4).

var mimeTags = map[string]tagSpec{
	"mime":        {cap: "mime"},
	"anychild":    {cap: "mime"},
	"type":        {cap: "mime", group: "mimeopt"},
	"subtype":     {cap: "mime", group: "mimeopt"},
	"contenttype": {cap: "mime", group: "mimeopt"},
	"param":       {cap: "mime", group: "mimeopt", param: pStringList},
}

type mimeSel struct {
	on       bool
	anychild bool
	opt      string
	params   []value
}

func (c *compiler) mimeSel(pa *parsedArgs) (mimeSel, *CompileError) {
	s := mimeSel{on: pa.has("mime"), anychild: pa.has("anychild"), opt: pa.groups["mimeopt"]}
	if !s.on && (s.anychild || s.opt != "") {
		return s, errAt(pa.at, ClassArgument, "%s: :anychild, :type, :subtype, :contenttype and :param require :mime", pa.name)
	}
	if a, ok := pa.tags["param"]; ok {
		vs, err := c.strs(a)
		if err != nil {
			return s, err
		}
		s.params = vs
	}
	return s, nil
}

// targets are the parts a :mime test looks at.
func (s mimeSel) targets(st *runState) []*mimePart {
	cur := st.currentPart()
	if !s.anychild {
		return []*mimePart{cur}
	}
	return cur.walk(nil)
}

func (st *runState) currentPart() *mimePart {
	if n := len(st.partStack); n > 0 {
		return st.partStack[n-1]
	}
	return st.parts()
}

// values returns the header values of name in part p, transformed by
// the :type/:subtype/:contenttype/:param option.
func (s mimeSel) values(st *runState, p *mimePart, name string) []string {
	raw := p.header().HeaderFields(name)
	ln := strings.ToLower(name)
	out := make([]string, 0, len(raw))
	for _, r := range raw {
		if s.opt == "" {
			out = append(out, decodeHeader(r))
			continue
		}
		if ln != "content-type" && ln != "content-disposition" && s.opt != "param" {
			continue
		}
		mt, params, err := mime.ParseMediaType(r)
		if err != nil && mt == "" {
			continue
		}
		typ, sub, _ := strings.Cut(mt, "/")
		switch s.opt {
		case "type":
			out = append(out, typ)
		case "subtype":
			out = append(out, sub)
		case "contenttype":
			out = append(out, mt)
		case "param":
			for _, pn := range st.expandAll(s.params) {
				if v, ok := params[strings.ToLower(pn)]; ok {
					out = append(out, v)
				}
			}
		}
	}
	return out
}

// foreverypart [:name string] block (RFC 5703 section 3).
type foreverypartCmd struct {
	name string
	body []cmd
}

func (x *foreverypartCmd) exec(st *runState) error {
	if len(st.partStack) >= maxForeverNest {
		return &RuntimeError{Script: st.frame.unit.name, Msg: "foreverypart loops nested too deeply"}
	}
	cur := st.currentPart()
	all := cur.walk(nil)[1:] // the parts below the current one
	for _, p := range all {
		if err := st.step(); err != nil {
			return err
		}
		st.partStack = append(st.partStack, p)
		err := st.run(x.body)
		st.partStack = st.partStack[:len(st.partStack)-1]
		if brk, ok := err.(breakErr); ok {
			if brk.name == "" || brk.name == x.name {
				return nil
			}
			return err
		}
		if err != nil {
			return err
		}
	}
	return nil
}

type breakErr struct{ name string }

func (b breakErr) Error() string { return "break outside foreverypart" }

type breakCmd struct{ name string }

func (x breakCmd) exec(*runState) error { return breakErr(x) }

// extracttext [MODIFIER] [:first number] varname (RFC 5703 section 7).
type extracttextCmd struct {
	set   setCmd
	first int // 0: all
}

func (x extracttextCmd) exec(st *runState) error {
	if len(st.partStack) == 0 {
		return &RuntimeError{Script: st.frame.unit.name, Msg: "extracttext outside foreverypart"}
	}
	p := st.partStack[len(st.partStack)-1]
	// As Pigeonhole: a part with children (a multipart, a message/rfc822 part)
	// has no text; any other part its decoded content, HTML reduced to text.
	text := ""
	if len(p.children) == 0 {
		text = p.decodedText()
		if mt, _ := p.contentType(); mt == "text/html" || mt == "application/xhtml+xml" {
			text = htmlToText(text)
		}
	}
	if x.first > 0 {
		text = truncateRunes(text, x.first)
	}
	for _, m := range x.set.modifiers {
		text = applyModifier(m, text)
	}
	st.setVar(x.set.name, x.set.global, text)
	return nil
}

func truncateRunes(s string, n int) string {
	i := 0
	for k := range s {
		if i == n {
			return s[:k]
		}
		i++
	}
	return s
}

func (c *compiler) foreverypart(n *commandNode) (cmd, *CompileError) {
	if !n.hasBlock {
		return nil, errAt(n.pos, ClassSyntax, "foreverypart requires a block")
	}
	if len(n.tests) > 0 {
		return nil, errAt(n.pos, ClassArgument, "foreverypart takes no test")
	}
	pa, err := c.collect(n.name, n.pos, n.args, map[string]tagSpec{"name": {param: pString}})
	if err != nil {
		return nil, err
	}
	if err := pa.positional(); err != nil {
		return nil, err
	}
	name := ""
	if a, ok := pa.tags["name"]; ok {
		name = a.strs[0].s
	}
	if len(c.loops) >= maxForeverNest {
		return nil, errAt(n.pos, ClassSyntax, "foreverypart loops nested too deeply (limit %d)", maxForeverNest)
	}
	c.loops = append(c.loops, name)
	body, err := c.block(n.block, false)
	c.loops = c.loops[:len(c.loops)-1]
	if err != nil {
		return nil, err
	}
	return &located{line: n.pos.line, c: &foreverypartCmd{name: name, body: body}}, nil
}

func buildBreak(c *compiler, pa *parsedArgs) (cmd, *CompileError) {
	if err := pa.positional(); err != nil {
		return nil, err
	}
	if len(c.loops) == 0 {
		return nil, errAt(pa.at, ClassArgument, "break outside foreverypart")
	}
	name := ""
	if a, ok := pa.tags["name"]; ok {
		name = a.strs[0].s
		found := false
		for _, l := range c.loops {
			found = found || l == name
		}
		if !found {
			return nil, errAt(pa.at, ClassArgument, "break: no enclosing foreverypart is named %q", name)
		}
	}
	return breakCmd{name}, nil
}

var extracttextTags = mergeTags(setModifierTags, map[string]tagSpec{"first": {param: pNumber}})

func buildExtracttext(c *compiler, pa *parsedArgs) (cmd, *CompileError) {
	if len(c.loops) == 0 {
		return nil, errAt(pa.at, ClassArgument, "extracttext outside foreverypart")
	}
	if err := pa.positional(pString); err != nil {
		return nil, err
	}
	x := extracttextCmd{}
	if a, ok := pa.tags["first"]; ok {
		x.first = int(min(a.num, 1<<20))
		delete(pa.tags, "first")
	}
	// The variable and modifiers are those of set, with an empty value.
	pa.pos = append(pa.pos, argument{kind: argStrings, strs: []strLit{{}}})
	s, err := buildSet(c, pa)
	if err != nil {
		return nil, err
	}
	x.set = s.(setCmd)
	return x, nil
}
