package sieve

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"mime"
	"strings"

	"github.com/emersion/go-message/charset"
)

// Message is what the interpreter reads of the message being delivered.
type Message interface {
	// HeaderFields returns the raw values (unfolded, not decoded, without
	// the "Name:" prefix and its leading white space) of every field
	// named name (case-insensitive), in message order.
	HeaderFields(name string) []string
	// Body returns the raw body: everything after the blank line that
	// ends the header.
	Body() (io.Reader, error)
	// Size is the size of the whole message in octets (RFC 5228 5.9).
	Size() int64
}

// RawMessage is a Message held in memory.
type RawMessage struct {
	raw    []byte
	fields []headerField
	body   []byte
	size   int64
}

type headerField struct {
	lname      string
	value      string
	orig       string // the name as written, for fields editheader added
	start, end int    // the field's bytes in RawMessage.raw, folds included
}

// ParseMessage reads a whole RFC 5322 message. Malformed header lines are
// skipped rather than failing delivery; a message without a blank line is
// all header.
func ParseMessage(r io.Reader) (*RawMessage, error) {
	var raw []byte
	var err error
	if l, ok := r.(interface{ Len() int }); ok {
		// An in-memory message (bytes.Reader and the like): one exact allocation.
		raw = make([]byte, l.Len())
		if _, err = io.ReadFull(r, raw); err == nil {
			// Nothing more, unless Len() promised less than there is.
			var one [1]byte
			if n, _ := r.Read(one[:]); n > 0 {
				var rest []byte
				rest, err = io.ReadAll(r)
				raw = append(append(raw, one[:n]...), rest...)
			}
		}
	} else {
		raw, err = io.ReadAll(r)
	}
	if err != nil {
		return nil, fmt.Errorf("sieve: reading message: %w", err)
	}
	return NewRawMessage(raw), nil
}

// NewRawMessage parses raw; it never fails.
func NewRawMessage(raw []byte) *RawMessage {
	m := &RawMessage{raw: raw, size: int64(len(raw))}
	br := bufio.NewReader(bytes.NewReader(raw))
	offset := 0
	var cur *headerField
	for {
		line, err := br.ReadString('\n')
		lineStart := offset
		offset += len(line)
		trimmed := strings.TrimRight(line, "\r\n")
		if trimmed == "" {
			if err == nil || line != "" {
				m.body = raw[offset:]
			}
			break
		}
		if (trimmed[0] == ' ' || trimmed[0] == '\t') && cur != nil {
			// Unfold (RFC 5322 section 2.2.3): drop the line break only.
			cur.value += trimmed
			cur.end = lineStart + len(trimmed)
		} else if colon := strings.IndexByte(trimmed, ':'); colon > 0 && !strings.ContainsAny(trimmed[:colon], " \t") {
			m.fields = append(m.fields, headerField{
				lname: strings.ToLower(trimmed[:colon]),
				value: trimmed[colon+1:],
				start: lineStart, end: lineStart + len(trimmed),
			})
			cur = &m.fields[len(m.fields)-1]
		} else {
			cur = nil
		}
		if err != nil {
			break
		}
	}
	for i := range m.fields {
		m.fields[i].value = strings.TrimLeft(m.fields[i].value, " \t")
	}
	return m
}

// HeaderFields implements Message.
func (m *RawMessage) HeaderFields(name string) []string { return fieldValues(m.fields, name) }

// fieldValues returns the values of the fields named name, in order.
func fieldValues(fields []headerField, name string) []string {
	var out []string
	ln := strings.ToLower(name)
	for _, f := range fields {
		if f.lname == ln {
			out = append(out, f.value)
		}
	}
	return out
}

// Body implements Message.
func (m *RawMessage) Body() (io.Reader, error) { return bytes.NewReader(m.body), nil }

// Size implements Message.
func (m *RawMessage) Size() int64 { return m.size }

// decodeHeader decodes RFC 2047 encoded words as Pigeonhole does for the
// header test, and trims surrounding white space. Undecodable words are
// left as written.
func decodeHeader(v string) string {
	v = strings.TrimSpace(v)
	if !strings.Contains(v, "=?") {
		return v
	}
	dec := mime.WordDecoder{CharsetReader: charset.Reader}
	out, err := dec.DecodeHeader(v)
	if err != nil {
		return v
	}
	return out
}
