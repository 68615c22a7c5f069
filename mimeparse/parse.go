package mimeparse

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"
)

// bufSize is the read buffer: lines longer than this are handled in pieces (a
// boundary or a header field name is never that long).
const bufSize = 32 << 10

// Parse reads a whole message from r and returns its MIME tree. It fails only when r
// does; malformed MIME is parsed as well as it can be.
func Parse(r io.Reader, lim Limits) (*Part, error) {
	p := newParser(r, lim, false)
	if err := p.run(); err != nil {
		return nil, err
	}
	return p.root, nil
}

// ParseUntil is Parse that stops reading once until, called as each part is complete
// (its End and Lines known; inner parts complete before the parts enclosing them),
// returns true. complete says the whole message was read; when it is false the parts
// still open then (the ancestors of the last one completed) have End 0.
func ParseUntil(r io.Reader, lim Limits, until func(root, closed *Part) bool) (root *Part, complete bool, err error) {
	p := newParser(r, lim, false)
	p.until = until
	if err := p.run(); err != nil {
		return nil, false, err
	}
	return p.root, !p.stopped, nil
}

// ParseHeader reads only the top-level header from r (up to its blank line) and
// returns it with the same bounds as Parse.
func ParseHeader(r io.Reader, lim Limits) (*Header, error) {
	root, err := ParseTop(r, lim)
	if err != nil {
		return nil, err
	}
	return &root.Header, nil
}

// ParseTop reads only the top-level header from r, as ParseHeader, and returns the
// root part with its Header, type and BodyOffset; End and Lines are not known (End is
// BodyOffset) and no children are parsed.
func ParseTop(r io.Reader, lim Limits) (*Part, error) {
	p := newParser(r, lim, true)
	if err := p.run(); err != nil {
		return nil, err
	}
	return p.root, nil
}

// boundary is an open multipart's delimiter ("--" + boundary parameter).
type boundary struct {
	delim []byte
	part  *Part
}

// parser is the state of one Parse.
type parser struct {
	lim        Limits
	r          *bufio.Reader
	headerOnly bool

	pos       int64 // offset of the next byte
	lines     int64 // line ends seen
	prevEOL   int64 // length of the last line's end (1 or 2), 0 at the start
	lineStart bool  // the next chunk starts a line

	root   *Part
	stack  []*Part // open parts, root first
	bounds []boundary
	parts  int
	kept   int64

	inHeader bool
	hdrBytes int64
	field    []byte // the field being read (name and value), nil when none
	skipping bool   // the current field is not kept
	done     bool

	until   func(root, closed *Part) bool // ParseUntil's condition
	stopped bool                          // until returned true
}

func newParser(r io.Reader, lim Limits, headerOnly bool) *parser {
	root := &Part{}
	return &parser{
		lim: lim.orDefault(), r: bufio.NewReaderSize(r, bufSize), headerOnly: headerOnly,
		lineStart: true, root: root, stack: []*Part{root}, parts: 1, inHeader: true,
	}
}

func (p *parser) cur() *Part { return p.stack[len(p.stack)-1] }

func (p *parser) run() error {
	for !p.done {
		chunk, err := p.r.ReadSlice('\n')
		if len(chunk) > 0 {
			whole := err == nil || errors.Is(err, io.EOF)
			p.chunk(chunk, whole)
			p.pos += int64(len(chunk))
			if chunk[len(chunk)-1] == '\n' {
				p.lines++
				p.prevEOL = 1
				if len(chunk) > 1 && chunk[len(chunk)-2] == '\r' {
					p.prevEOL = 2
				}
				p.lineStart = true
			} else {
				p.lineStart = false
			}
		}
		switch {
		case p.stopped:
			return nil
		case err == nil, errors.Is(err, bufio.ErrBufferFull):
		case errors.Is(err, io.EOF):
			p.finish()
			return nil
		default:
			return fmt.Errorf("mimeparse: reading the message: %w", err)
		}
	}
	p.finish()
	return nil
}

// chunk handles one piece of a line; whole says it reaches the line's end (or EOF).
func (p *parser) chunk(b []byte, whole bool) {
	if p.lineStart && whole && len(p.bounds) > 0 && bytes.HasPrefix(b, []byte("--")) {
		if p.delimiter(b) {
			return
		}
	}
	if p.inHeader {
		p.headerChunk(b)
	}
}

// delimiter handles b if it is a boundary line of an open multipart, innermost first.
func (p *parser) delimiter(b []byte) bool {
	line := bytes.TrimRight(b, " \t\r\n")
	for i := len(p.bounds) - 1; i >= 0; i-- {
		rest, ok := bytes.CutPrefix(line, p.bounds[i].delim)
		if !ok {
			continue
		}
		closing := bytes.HasPrefix(rest, []byte("--"))
		if !closing && len(rest) > 0 {
			continue
		}
		mp := p.bounds[i].part
		p.closeAbove(mp)
		if closing {
			p.bounds = p.bounds[:i]
			return true
		}
		p.bounds = p.bounds[:i+1]
		p.openChild(mp, p.pos+int64(len(b)))
		return true
	}
	return false
}

// closeAbove ends every open part deeper than mp at the boundary line starting now.
func (p *parser) closeAbove(mp *Part) {
	if p.inHeader {
		p.endHeader(0)
	}
	for len(p.stack) > 0 && p.cur() != mp {
		p.closePart(p.cur(), true)
		p.stack = p.stack[:len(p.stack)-1]
	}
	p.inHeader = false
}

// closePart sets the end of part q: before the line end that belongs to the boundary
// line starting now (atBoundary), or here (end of input).
func (p *parser) closePart(q *Part, atBoundary bool) {
	end, lines := p.pos, p.lines-q.bodyLine
	if atBoundary && p.prevEOL > 0 {
		end -= p.prevEOL
		lines--
	}
	if end < q.BodyOffset {
		end = q.BodyOffset
	}
	if lines < 0 || end == q.BodyOffset {
		lines = 0
	}
	q.End, q.Lines = end, lines
	if q.Type == "multipart" && len(q.Parts) == 0 {
		q.Flattened = true // no delimiter was found: its body is one text part
	}
	if p.until != nil && !p.stopped && p.until(p.root, q) {
		p.stopped, p.done = true, true
	}
}

// openChild starts a new child of multipart mp whose header begins at off.
func (p *parser) openChild(mp *Part, off int64) {
	if p.parts >= p.lim.MaxParts {
		p.limitHit(mp)
		return
	}
	p.parts++
	c := &Part{Offset: off, Depth: mp.Depth + 1, inDigest: mp.Subtype == "digest"}
	if p.parts == p.lim.MaxParts {
		// The last part the limit allows holds the rest of the message.
		c.Flattened = true
		p.limitHit(mp)
	}
	mp.Parts = append(mp.Parts, c)
	p.stack = append(p.stack, c)
	p.inHeader, p.hdrBytes = true, 0
}

// limitHit stops recognising structure: the rest of the message belongs to the part
// that is open now.
func (p *parser) limitHit(_ *Part) {
	p.root.Limited = true
	p.bounds = nil
}

func (p *parser) finish() {
	if p.inHeader {
		p.endHeader(0)
	}
	for len(p.stack) > 0 {
		p.closePart(p.cur(), false)
		p.stack = p.stack[:len(p.stack)-1]
	}
}

// headerChunk handles a piece of a header line.
func (p *parser) headerChunk(b []byte) {
	p.hdrBytes += int64(len(b))
	if p.lineStart && (len(b) == 1 && b[0] == '\n' || len(b) == 2 && b[0] == '\r' && b[1] == '\n') {
		p.endHeader(int64(len(b)))
		return
	}
	if p.lineStart && b[0] != ' ' && b[0] != '\t' {
		p.flushField()
		p.field, p.skipping = p.field[:0], p.hdrBytes > p.lim.MaxHeaderBlock
		if p.field == nil {
			p.field = make([]byte, 0, 128)
		}
	}
	if p.skipping || p.field == nil {
		return
	}
	v := bytes.TrimRight(b, "\r\n")
	if room := p.lim.MaxFieldBytes + p.lim.MaxFieldName + 1 - len(p.field); len(v) > room {
		v = v[:max(room, 0)]
		p.cur().Header.Truncated = true
	}
	p.field = append(p.field, v...)
}

// flushField keeps the field read so far, if it is one and within the limits.
func (p *parser) flushField() {
	f := p.field
	if p.skipping || len(f) == 0 {
		return
	}
	name, value, ok := bytes.Cut(f, []byte(":"))
	name = bytes.TrimRight(name, " \t")
	q := p.cur()
	if !ok || len(name) == 0 || len(name) > p.lim.MaxFieldName || bytes.ContainsAny(name, " \t") {
		return
	}
	if q != p.root && !keptNested(strings.ToLower(string(name))) {
		return
	}
	value = bytes.TrimLeft(value, " \t")
	cost := int64(len(name) + len(value) + 32)
	if len(q.Header.Fields) >= p.lim.MaxFields || p.kept+cost > p.lim.MaxKeptBytes {
		q.Header.Truncated = true
		p.root.Limited = true
		return
	}
	p.kept += cost
	q.Header.Fields = append(q.Header.Fields, Field{Name: string(name), Value: string(value)})
}

// endHeader ends the current part's header; blank is the length of the blank line
// that ended it (the body starts after it), 0 when a boundary or the end did.
func (p *parser) endHeader(blank int64) {
	p.flushField()
	p.field = nil
	p.inHeader = false
	q := p.cur()
	q.BodyOffset, q.bodyLine = p.pos, p.lines
	if blank > 0 {
		q.BodyOffset += blank
		q.bodyLine++
	}
	if p.hdrBytes > p.lim.MaxHeaderBlock {
		q.Header.Truncated = true
		p.root.Limited = true
	}
	p.setType(q)
	if p.headerOnly && q == p.root {
		p.done = true
		return
	}
	if blank > 0 {
		p.descend(q)
	}
}

// setType reads q's Content-Type; without a usable one a part is text/plain in
// US-ASCII (RFC 2045 section 5.2), or message/rfc822 in a multipart/digest (RFC 2046
// section 5.1.5).
func (p *parser) setType(q *Part) {
	q.Type, q.Subtype, q.Params = mediaType(q.Header.Get("Content-Type"))
	if q.Type != "" {
		return
	}
	if q.inDigest {
		q.Type, q.Subtype = "message", "rfc822"
		return
	}
	q.Type, q.Subtype, q.Params = "text", "plain", map[string]string{"charset": "us-ascii"}
}

// descend opens what q's body holds: a multipart's delimiter, or the header of the
// message a message/rfc822 part encloses, within the depth and part limits.
func (p *parser) descend(q *Part) {
	isMsg := q.Type == "message" && (q.Subtype == "rfc822" || q.Subtype == "global")
	if q.Type != "multipart" && !isMsg {
		return
	}
	// As Dovecot's message parser: a part MaxDepth-1 levels down holds no further
	// structure (MaxDepth 2 parses a message/rfc822 part's message, not the next).
	if q.Depth+1 >= p.lim.MaxDepth || p.parts >= p.lim.MaxParts {
		q.Flattened = true
		p.root.Limited = true
		return
	}
	if !isMsg {
		b := q.Params["boundary"]
		if b == "" {
			q.Flattened = true
			return
		}
		p.bounds = append(p.bounds, boundary{delim: append([]byte("--"), b...), part: q})
		return
	}
	p.parts++
	c := &Part{Offset: q.BodyOffset, Depth: q.Depth + 1}
	q.Message = c
	p.stack = append(p.stack, c)
	p.inHeader, p.hdrBytes = true, 0
}
