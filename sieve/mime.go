package sieve

import (
	"bytes"
	"encoding/base64"
	"io"
	"mime"
	"mime/quotedprintable"
	"strings"

	"github.com/emersion/go-message/charset"
)

// mime, foreverypart and extracttext (RFC 5703). The message is split into
// its MIME parts once per run, within bounds an attacker cannot lift:
// maxMIMEDepth levels of multipart nesting and maxMIMEParts parts; what
// lies beyond is treated as an opaque leaf. Parts are slices of the
// message already in memory, so the walk allocates per part, not per byte.

const (
	maxMIMEDepth   = 16
	maxMIMEParts   = 512
	maxForeverNest = 8 // foreverypart loops inside each other
)

type mimePart struct {
	hdr      *RawMessage // the part's header (its body is the part's content)
	children []*mimePart
	parent   *mimePart
}

func (p *mimePart) contentType() (string, map[string]string) {
	vals := p.hdr.HeaderFields("content-type")
	if len(vals) == 0 {
		if p.parent != nil {
			if pt, _ := p.parent.contentType(); pt == "multipart/digest" {
				return "message/rfc822", nil
			}
		}
		return "text/plain", map[string]string{"charset": "us-ascii"}
	}
	mt, params, err := mime.ParseMediaType(vals[0])
	if err != nil {
		mt = strings.ToLower(strings.TrimSpace(strings.SplitN(vals[0], ";", 2)[0]))
		if !strings.Contains(mt, "/") {
			return "text/plain", map[string]string{"charset": "us-ascii"}
		}
	}
	return strings.ToLower(mt), params
}

// parts returns the message's part tree, parsed on first use.
func (st *runState) parts() *mimePart {
	if st.mimeRoot != nil {
		return st.mimeRoot
	}
	var raw []byte
	if r, err := st.msg.Body(); err == nil {
		raw, _ = io.ReadAll(io.LimitReader(r, maxBodyScan))
	}
	var hdr bytes.Buffer
	if hl, ok := st.msg.(fieldLister); ok {
		for _, f := range hl.fieldList() {
			hdr.WriteString(f.lname + ": " + f.value + "\r\n")
		}
	}
	hdr.WriteString("\r\n")
	root := &mimePart{hdr: NewRawMessage(append(hdr.Bytes(), raw...))}
	count := 1
	splitParts(root, 0, &count)
	st.mimeRoot = root
	return root
}

func splitParts(p *mimePart, depth int, count *int) {
	mt, params := p.contentType()
	if !strings.HasPrefix(mt, "multipart/") || depth >= maxMIMEDepth {
		return
	}
	b := params["boundary"]
	if b == "" {
		return
	}
	for _, body := range splitMultipart(p.hdr.body, b) {
		if *count >= maxMIMEParts {
			return
		}
		*count++
		c := &mimePart{hdr: NewRawMessage(body), parent: p}
		p.children = append(p.children, c)
		splitParts(c, depth+1, count)
	}
}

// splitMultipart returns the bodies between the boundary lines.
func splitMultipart(body []byte, boundary string) [][]byte {
	delim := []byte("--" + boundary)
	var out [][]byte
	start := -1
	for i := 0; i < len(body); {
		end := bytes.IndexByte(body[i:], '\n')
		lineEnd := len(body)
		if end >= 0 {
			lineEnd = i + end + 1
		}
		line := bytes.TrimRight(body[i:lineEnd], " \t\r\n")
		if bytes.HasPrefix(line, delim) {
			rest := line[len(delim):]
			if start >= 0 {
				stop := i
				if stop > start && body[stop-1] == '\n' {
					stop--
					if stop > start && body[stop-1] == '\r' {
						stop--
					}
				}
				out = append(out, body[start:stop])
			}
			if bytes.Equal(rest, []byte("--")) {
				return out
			}
			if len(rest) == 0 {
				start = lineEnd
			}
		}
		i = lineEnd
	}
	if start >= 0 && start < len(body) {
		out = append(out, body[start:])
	}
	return out
}

// walk lists p and every part below it, depth first.
func (p *mimePart) walk(out []*mimePart) []*mimePart {
	out = append(out, p)
	for _, c := range p.children {
		out = c.walk(out)
	}
	return out
}

// decodedText is the part's content, transfer-decoded and in UTF-8.
func (p *mimePart) decodedText() string {
	body := p.hdr.body
	var r io.Reader = bytes.NewReader(body)
	if cte := p.hdr.HeaderFields("content-transfer-encoding"); len(cte) > 0 {
		switch strings.ToLower(strings.TrimSpace(cte[0])) {
		case "base64":
			r = base64.NewDecoder(base64.StdEncoding, newB64Cleaner(r))
		case "quoted-printable":
			r = quotedprintable.NewReader(r)
		}
	}
	_, params := p.contentType()
	if cs := params["charset"]; cs != "" && !strings.EqualFold(cs, "utf-8") && !strings.EqualFold(cs, "us-ascii") {
		if cr, err := charset.Reader(cs, r); err == nil {
			r = cr
		}
	}
	b, _ := io.ReadAll(io.LimitReader(r, maxBodyScan))
	return string(b)
}

// b64Cleaner drops line breaks and spaces base64 bodies carry.
type b64Cleaner struct{ r io.Reader }

func newB64Cleaner(r io.Reader) io.Reader { return &b64Cleaner{r} }

func (c *b64Cleaner) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	j := 0
	for _, b := range p[:n] {
		if b != '\r' && b != '\n' && b != ' ' && b != '\t' {
			p[j] = b
			j++
		}
	}
	return j, err
}

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
	raw := p.hdr.HeaderFields(name)
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
	text := ""
	if mt, _ := p.contentType(); strings.HasPrefix(mt, "text/") {
		text = p.decodedText()
		if mt == "text/html" {
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
