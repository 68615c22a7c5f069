package sieve

import (
	"regexp"
	"strings"
)

// body (RFC 5173). :raw matches the undecoded body; :content matches the
// decoded parts whose type matches one of the given types (as Pigeonhole: a
// multipart's prologue and, if any, its epilogue; a message/rfc822 part's
// enclosed header, the enclosed message's parts following); :text (the
// default) matches the text/* parts, HTML reduced to its text, those of
// attached messages included.

var bodyTags = map[string]tagSpec{
	"raw":     {group: "transform"},
	"content": {group: "transform", param: pStringList},
	"text":    {group: "transform"},
}

type bodyTest struct {
	transform string
	types     []value
	m         *matcher
}

// maxBodyScan bounds how much body the test reads.
const maxBodyScan = 10 << 20

func buildBody(c *compiler, pa *parsedArgs) (test, *CompileError) {
	if err := pa.positional(pStringList); err != nil {
		return nil, err
	}
	x := &bodyTest{transform: pa.groups["transform"]}
	if x.transform == "" {
		x.transform = "text"
	}
	if a, ok := pa.tags["content"]; ok {
		vs, err := c.strs(a)
		if err != nil {
			return nil, err
		}
		x.types = vs
	}
	m, err := c.matcher(pa, pa.pos[0])
	if err != nil {
		return nil, err
	}
	x.m = m
	return x, nil
}

func (x *bodyTest) eval(st *runState) (bool, error) {
	key := x.transform + "\x00" + strings.Join(st.expandAll(x.types), "\x00")
	if st.bodyCache == nil {
		st.bodyCache = map[string][]string{}
	}
	vals, ok := st.bodyCache[key]
	if !ok {
		vals = x.extract(st)
		st.bodyCache[key] = vals
	}
	return x.m.test(st, vals)
}

func (x *bodyTest) extract(st *runState) []string {
	if x.transform == "raw" {
		return []string{string(messageBody(st.msg))}
	}
	var types []string
	if x.transform == "content" {
		types = lowerAll(st.expandAll(x.types))
	}
	return x.collect(st.parts(), types, nil)
}

// collect appends what the test matches of p and the parts below it, in
// Pigeonhole's order: a part, its children, then a multipart's epilogue.
func (x *bodyTest) collect(p *mimePart, types []string, out []string) []string {
	mt, _ := p.contentType()
	wanted := typeMatches(mt, types)
	if x.transform == "text" {
		wanted = strings.HasPrefix(mt, "text/") || mt == "application/xhtml+xml"
	}
	multi := p.mp.IsMultipart() && len(p.children) > 0
	switch {
	case !wanted:
	case multi:
		out = append(out, string(p.prologue()))
	case p.enclosed() != nil:
		out = append(out, string(p.enclosedHeader()))
	default:
		s := p.decodedText()
		if x.transform == "text" && (mt == "text/html" || mt == "application/xhtml+xml") {
			s = htmlToText(s)
		}
		out = append(out, s)
	}
	for _, c := range p.children {
		out = x.collect(c, types, out)
	}
	if wanted && multi {
		if epi, ok := p.epilogue(); ok {
			out = append(out, string(epi))
		}
	}
	return out
}

// typeMatches: "" matches every type, "text" every text/* type,
// "text/plain" exactly that type (RFC 5173 section 5.2).
func typeMatches(mt string, types []string) bool {
	for _, t := range types {
		switch {
		case t == "":
			return true
		case strings.Contains(t, "/"):
			if t == mt {
				return true
			}
		default:
			if strings.HasPrefix(mt, t+"/") {
				return true
			}
		}
	}
	return false
}

var (
	htmlDropRe = regexp.MustCompile(`(?is)<(script|style)\b.*?</(script|style)\s*>`)
	htmlTagRe  = regexp.MustCompile(`(?s)<[^>]*>`)
)

// htmlToText keeps the text of an HTML part, roughly as Pigeonhole's
// html-to-text extractor does for matching purposes.
func htmlToText(s string) string {
	s = htmlDropRe.ReplaceAllString(s, " ")
	s = htmlTagRe.ReplaceAllString(s, " ")
	r := strings.NewReplacer("&nbsp;", " ", "&amp;", "&", "&lt;", "<", "&gt;", ">", "&quot;", `"`, "&#39;", "'")
	return r.Replace(s)
}
