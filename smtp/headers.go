package smtp

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"strings"
)

// headerField is one field of a message header (RFC 5322 section 2.2), its
// value unfolded (the CRLF before each continuation line removed) and trimmed.
type headerField struct {
	Name  string
	Value string
}

// header is the parsed header block of a message.
type header struct {
	Fields []headerField
	// End is where fields can be added: the offset of the blank line that ends
	// the header, or the size of a message that is all header. It is 0 when the
	// last header line has no line end (fields then go first).
	End int64
}

var (
	errHeaderTooBig    = errors.New("smtp: message header too big")
	errHeaderMalformed = errors.New("smtp: malformed message header")
)

// get returns the values of every field named name (case-insensitive).
func (h *header) get(name string) []string {
	var vs []string
	for _, f := range h.Fields {
		if strings.EqualFold(f.Name, name) {
			vs = append(vs, f.Value)
		}
	}
	return vs
}

// parseHeader reads the header block of a message from r, reading at most max
// octets of it (errHeaderTooBig beyond). Lines end in CRLF; a lone LF is taken
// as a line end too (bare LF never gets this far in a session, but the parser
// must not depend on that).
//
// A line that is neither a field ("name:" with RFC 5322 section 3.6.8 ftext,
// optionally followed by white space before the colon, the obsolete syntax of
// section 4.5) nor a continuation (leading SP or HTAB) of one makes the header
// malformed: a sender check that skipped such a line could miss a From field
// that a mail reader would still show.
func parseHeader(r io.Reader, max int64) (*header, error) {
	br := bufio.NewReader(io.LimitReader(r, max+1))
	h := &header{}
	var off int64
	for {
		line, err := br.ReadSlice('\n')
		if err == bufio.ErrBufferFull {
			// A line longer than the buffer: gather it, still within max.
			rest, rerr := readRestOfLine(br)
			line, err = append(append([]byte(nil), line...), rest...), rerr
		}
		if err != nil && err != io.EOF {
			return nil, err
		}
		start := off
		off += int64(len(line))
		if off > max {
			return nil, errHeaderTooBig
		}
		if len(line) == 0 { // end of the message: it is all header
			h.End = off
			return h, nil
		}
		terminated := line[len(line)-1] == '\n'
		text := trimEOL(line)
		switch {
		case len(text) == 0:
			h.End = start
			return h, nil
		case text[0] == ' ' || text[0] == '\t':
			if len(h.Fields) == 0 {
				return nil, errHeaderMalformed
			}
			f := &h.Fields[len(h.Fields)-1]
			f.Value = joinFolded(f.Value, string(text))
		default:
			name, value, ok := splitField(text)
			if !ok {
				return nil, errHeaderMalformed
			}
			h.Fields = append(h.Fields, headerField{Name: name, Value: strings.Trim(value, " \t")})
		}
		if !terminated {
			h.End = 0
			return h, nil
		}
	}
}

// readRestOfLine reads up to and including the next LF (or EOF).
func readRestOfLine(br *bufio.Reader) ([]byte, error) {
	var b []byte
	for {
		chunk, err := br.ReadSlice('\n')
		b = append(b, chunk...)
		if err != bufio.ErrBufferFull {
			return b, err
		}
	}
}

func trimEOL(line []byte) []byte {
	line = bytes.TrimSuffix(line, []byte("\n"))
	return bytes.TrimSuffix(line, []byte("\r"))
}

// joinFolded unfolds a continuation line onto value (RFC 5322 section 2.2.3:
// unfolding removes the CRLF, keeping the white space).
func joinFolded(value, cont string) string {
	cont = strings.TrimRight(cont, " \t")
	if value == "" {
		return strings.TrimLeft(cont, " \t")
	}
	return value + cont
}

// splitField splits "Name: value". The name is 1*ftext (printable US-ASCII
// except colon); white space between name and colon is the obsolete syntax
// (RFC 5322 section 4.5.8) and is accepted.
func splitField(text []byte) (name, value string, ok bool) {
	i := 0
	for i < len(text) && text[i] >= 33 && text[i] <= 126 && text[i] != ':' {
		i++
	}
	if i == 0 {
		return "", "", false
	}
	j := i
	for j < len(text) && (text[j] == ' ' || text[j] == '\t') {
		j++
	}
	if j == len(text) || text[j] != ':' {
		return "", "", false
	}
	return string(text[:i]), string(text[j+1:]), true
}

// insertedMessage is a Message with text inserted at one offset: the header
// fields a submission adds, placed at the end of the header block.
type insertedMessage struct {
	orig Message
	at   int64
	text string
}

func (m *insertedMessage) Size() int64 { return m.orig.Size() + int64(len(m.text)) }

func (m *insertedMessage) Open() (io.ReadCloser, error) {
	rc, err := m.orig.Open()
	if err != nil {
		return nil, err
	}
	return struct {
		io.Reader
		io.Closer
	}{io.MultiReader(io.LimitReader(rc, m.at), strings.NewReader(m.text), rc), rc}, nil
}
