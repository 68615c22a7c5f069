package sieve

import (
	"bytes"
	"io"
	"mime"
	"strings"

	"github.com/postern/postern/mimeparse"
)

// The MIME part tree the body, mime, foreverypart and extracttext tests walk. It is
// built once per run by mimeparse, the same bounded streaming parser as IMAP's
// BODYSTRUCTURE, over the header and the body prefix (maxBodyScan) already in memory:
// Dovecot's limits (mimeparse.DefaultLimits: 100 levels, 10,000 parts, bounded header
// bytes), a part beyond them an opaque leaf. As in Pigeonhole (whose parts come from
// Dovecot's message parser), a message/rfc822 part has one child, the message it
// encloses, so foreverypart and :anychild reach the parts of attached messages. Parts
// are slices of the bytes already held; a part's header is parsed when a test first
// reads it.

// mimeSource is the bytes the tree's offsets index: the top-level header block as
// the script sees it (edits included) followed by the body prefix. Neither is copied.
type mimeSource struct{ head, body []byte }

// slice returns the bytes at [from, to), sharing memory unless they straddle the two.
func (s *mimeSource) slice(from, to int64) []byte {
	h := int64(len(s.head))
	to = min(to, h+int64(len(s.body)))
	switch {
	case from >= to:
		return nil
	case from >= h:
		return s.body[from-h : to-h]
	case to <= h:
		return s.head[from:to]
	}
	return append(append([]byte(nil), s.head[from:]...), s.body[:to-h]...)
}

type mimePart struct {
	mp       *mimeparse.Part
	src      *mimeSource
	hdr      *RawMessage // the part's header fields, parsed on first use
	children []*mimePart
	parent   *mimePart
}

// header returns the part's own header fields (all of them, not only those
// mimeparse keeps of nested parts).
func (p *mimePart) header() *RawMessage {
	if p.hdr == nil {
		p.hdr = NewRawMessage(p.src.slice(p.mp.Offset, p.mp.BodyOffset))
	}
	return p.hdr
}

// body is the part's raw (undecoded) body.
func (p *mimePart) body() []byte { return p.src.slice(p.mp.BodyOffset, p.mp.End) }

// enclosed is the message a message/rfc822 part holds, nil for other parts.
func (p *mimePart) enclosed() *mimePart {
	if p.mp.Message == nil || len(p.children) == 0 {
		return nil
	}
	return p.children[0]
}

func (p *mimePart) contentType() (string, map[string]string) {
	vals := p.header().HeaderFields("content-type")
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

// bodyHolder is a Message that can hand out its (bounded) body without a copy.
type bodyHolder interface{ bodyBytes() []byte }

func (m *RawMessage) bodyBytes() []byte { return m.body }

func (m *StreamMessage) bodyBytes() []byte {
	m.once.Do(func() { m.body, m.bodyErr = m.readBody() })
	return m.body
}

func (m *editedMessage) bodyBytes() []byte { return messageBody(m.base) }

// messageBody is the body prefix of msg the tests read (at most maxBodyScan bytes).
func messageBody(msg Message) []byte {
	if bh, ok := msg.(bodyHolder); ok {
		b := bh.bodyBytes()
		return b[:min(len(b), maxBodyScan)]
	}
	r, err := msg.Body()
	if err != nil {
		return nil
	}
	b, _ := io.ReadAll(io.LimitReader(r, maxBodyScan))
	return b
}

// parts returns the message's part tree, parsed on first use.
func (st *runState) parts() *mimePart {
	if st.mimeRoot != nil {
		return st.mimeRoot
	}
	var hdr bytes.Buffer
	if hl, ok := st.msg.(fieldLister); ok {
		for _, f := range hl.fieldList() {
			hdr.WriteString(f.lname + ": " + f.value + "\r\n")
		}
	}
	hdr.WriteString("\r\n")
	src := &mimeSource{head: hdr.Bytes(), body: messageBody(st.msg)}
	tree, err := mimeparse.Parse(io.MultiReader(bytes.NewReader(src.head), bytes.NewReader(src.body)), mimeparse.DefaultLimits())
	if err != nil { // reading from memory does not fail; be safe all the same
		tree = &mimeparse.Part{BodyOffset: int64(len(src.head)), End: int64(len(src.head) + len(src.body))}
	}
	st.mimeRoot = wrapParts(tree, src, nil)
	return st.mimeRoot
}

// wrapParts mirrors mimeparse's tree; the message a message/rfc822 part encloses
// becomes its only child.
func wrapParts(mp *mimeparse.Part, src *mimeSource, parent *mimePart) *mimePart {
	p := &mimePart{mp: mp, src: src, parent: parent}
	if mp.Message != nil {
		p.children = []*mimePart{wrapParts(mp.Message, src, p)}
		return p
	}
	if mp.IsMultipart() {
		p.children = make([]*mimePart, 0, len(mp.Parts))
		for _, c := range mp.Parts {
			p.children = append(p.children, wrapParts(c, src, p))
		}
	}
	return p
}

// walk lists p and every part below it, depth first.
func (p *mimePart) walk(out []*mimePart) []*mimePart {
	out = append(out, p)
	for _, c := range p.children {
		out = c.walk(out)
	}
	return out
}

// decodedText is the part's content, transfer-decoded and (text parts) in UTF-8.
func (p *mimePart) decodedText() string {
	b, _ := io.ReadAll(io.LimitReader(mimeparse.Decode(p.mp, bytes.NewReader(p.body())), maxBodyScan))
	return string(b)
}

// prologue is the text of a multipart before its first delimiter line (the line end
// before the delimiter belongs to it, RFC 2046 section 5.1.1).
func (p *mimePart) prologue() []byte {
	first := p.children[0].mp.Offset // just after the first delimiter line
	b := p.src.slice(p.mp.BodyOffset, first)
	line := bytes.LastIndexByte(bytes.TrimSuffix(b, []byte("\n")), '\n') + 1 // the delimiter line's start
	return trimEOL(b[:line])
}

// epilogue is the text of a multipart after its closing delimiter line; false when
// there is none (no closing delimiter, or nothing after it).
func (p *mimePart) epilogue() ([]byte, bool) {
	last := p.children[len(p.children)-1].mp
	rest := p.src.slice(last.End, p.mp.End)
	rest = bytes.TrimPrefix(bytes.TrimPrefix(rest, []byte("\r")), []byte("\n"))
	closing := "--" + p.mp.Params["boundary"] + "--"
	if !bytes.HasPrefix(rest, []byte(closing)) {
		return nil, false
	}
	nl := bytes.IndexByte(rest, '\n')
	if nl < 0 || nl == len(rest)-1 {
		return nil, false
	}
	return rest[nl+1:], true
}

// enclosedHeader is the header of the message a message/rfc822 part encloses,
// without its blank line: Pigeonhole's content of such a part.
func (p *mimePart) enclosedHeader() []byte {
	m := p.enclosed().mp
	return trimEOL(p.src.slice(m.Offset, m.BodyOffset))
}

func trimEOL(b []byte) []byte {
	return bytes.TrimSuffix(bytes.TrimSuffix(b, []byte("\n")), []byte("\r"))
}
