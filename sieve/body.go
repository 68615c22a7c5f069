package sieve

import (
	"bytes"
	"io"
	"regexp"
	"strings"

	"github.com/emersion/go-message"
)

// body (RFC 5173). :raw matches the undecoded body; :content matches the
// decoded leaf parts whose type matches one of the given types; :text
// (the default) matches the text/* parts, HTML reduced to its text.

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
	r, err := st.msg.Body()
	if err != nil {
		return nil
	}
	raw, _ := io.ReadAll(io.LimitReader(r, maxBodyScan))
	if x.transform == "raw" {
		return []string{string(raw)}
	}
	var hdr bytes.Buffer
	for _, h := range []string{"Content-Type", "Content-Transfer-Encoding"} {
		for _, v := range st.msg.HeaderFields(h) {
			hdr.WriteString(h + ": " + v + "\r\n")
		}
	}
	hdr.WriteString("\r\n")
	ent, err := message.Read(io.MultiReader(&hdr, bytes.NewReader(raw)))
	if ent == nil {
		return []string{string(raw)}
	}
	_ = err
	var types []string
	if x.transform == "content" {
		types = lowerAll(st.expandAll(x.types))
	}
	var out []string
	_ = ent.Walk(func(_ []int, e *message.Entity, err error) error {
		if err != nil && !message.IsUnknownCharset(err) {
			return nil
		}
		mt, _, _ := e.Header.ContentType()
		if mt == "" {
			mt = "text/plain"
		}
		mt = strings.ToLower(mt)
		if strings.HasPrefix(mt, "multipart/") {
			return nil
		}
		if x.transform == "text" {
			if !strings.HasPrefix(mt, "text/") {
				return nil
			}
		} else if !typeMatches(mt, types) {
			return nil
		}
		b, _ := io.ReadAll(io.LimitReader(e.Body, maxBodyScan))
		s := string(b)
		if x.transform == "text" && mt == "text/html" {
			s = htmlToText(s)
		}
		out = append(out, s)
		return nil
	})
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
