package mimeparse

import "io"

// Part is one MIME part of a parsed message: the message itself at the root.
type Part struct {
	Header Header
	// Type and Subtype are lower case; a part without a usable Content-Type is
	// text/plain (message/rfc822 inside multipart/digest), as RFC 2045 and 2046 say.
	Type, Subtype string
	// Params are the Content-Type parameters (keys lower case).
	Params map[string]string
	// Offset is where the part's header starts in the message, BodyOffset where its
	// body starts and End where it ends (the CRLF before a boundary excluded).
	Offset, BodyOffset, End int64
	// Lines counts the body's line ends.
	Lines int64
	// Parts are a multipart's children.
	Parts []*Part
	// Message is the message a message/rfc822 (or message/global) part holds.
	Message *Part
	// Flattened says the part was not descended into although its type is multipart
	// or message (a limit was hit, or a multipart had no boundary; its body spans what
	// would have been its children), or that it is the last part MaxParts allows and
	// its body spans the rest of the message.
	Flattened bool
	// Limited (root only) says some limit was hit somewhere in the message.
	Limited bool
	// Depth is the number of multipart or message parts enclosing this one.
	Depth int

	bodyLine int64 // the parser's line count where the body started
	inDigest bool  // the parent is a multipart/digest
}

// Size is the body's length in octets.
func (p *Part) Size() int64 { return p.End - p.BodyOffset }

// Body returns a reader of the part's raw (not decoded) body from the message m.
func (p *Part) Body(m io.ReaderAt) *io.SectionReader {
	return io.NewSectionReader(m, p.BodyOffset, p.Size())
}

// IsMultipart reports whether the part has children.
func (p *Part) IsMultipart() bool { return p.Type == "multipart" && !p.Flattened }

// IsMessage reports whether the part holds a parsed message.
func (p *Part) IsMessage() bool { return p.Message != nil }

// Leaves calls fn for every part that is neither a multipart nor a message, depth
// first in message order, descending into nested messages; fn returning false stops.
func (p *Part) Leaves(fn func(*Part) bool) bool {
	switch {
	case p.Message != nil:
		return p.Message.Leaves(fn)
	case p.IsMultipart():
		for _, c := range p.Parts {
			if !c.Leaves(fn) {
				return false
			}
		}
		return true
	default:
		return fn(p)
	}
}

// Walk calls fn for every part, depth first in message order (a part before its
// children, a message/rfc822 part before the message it holds); fn returning false
// stops the walk.
func (p *Part) Walk(fn func(*Part) bool) bool {
	if !fn(p) {
		return false
	}
	if p.Message != nil && !p.Message.Walk(fn) {
		return false
	}
	for _, c := range p.Parts {
		if !c.Walk(fn) {
			return false
		}
	}
	return true
}
