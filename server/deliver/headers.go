package deliver

import (
	"bytes"
	"mime"
	"strings"
	"unicode/utf8"
)

// The header fields of the messages the server makes from what others wrote (vacation
// replies with a script's :subject and :from, enotify notifications with a message's
// Subject) go through a fieldWriter: whatever a value holds, it stays one field. CR, LF
// and NUL become spaces (so no value can start a field of its own or end the header),
// other control characters are dropped, unstructured text that is not ASCII is RFC 2047
// encoded, and lines are folded at spaces to 78 octets where a space allows it.

// maxFieldValue bounds an unstructured value before it is encoded: a subject longer
// than this is cut (a script's variables can make one as long as a message header).
const maxFieldValue = 900

// foldAt is the line length (RFC 5322 section 2.1.1's "SHOULD" of 78) fields are folded
// to where a space allows it.
const foldAt = 78

// maxLine is RFC 5322's hard limit on a line, without its CRLF.
const maxLine = 998

// fieldWriter collects header fields.
type fieldWriter struct {
	b bytes.Buffer
}

// text writes an unstructured field (Subject): sanitized, cut to maxFieldValue,
// encoded when not ASCII, folded. An empty value writes nothing.
func (w *fieldWriter) text(name, value string) {
	v := cutUTF8(sanitizeField(value), maxFieldValue)
	if !isASCII(v) {
		v = mime.QEncoding.Encode("utf-8", v)
	}
	w.write(name, v)
}

// field writes a structured field (addresses, message ids, dates) sanitized and
// folded; the caller makes it valid. An empty value writes nothing, and so does one
// with a word too long for any line (a monstrous Message-ID is not echoed).
func (w *fieldWriter) field(name, value string) {
	v := sanitizeField(value)
	for _, word := range strings.Fields(v) {
		if len(name)+2+len(word) > maxLine {
			return
		}
	}
	w.write(name, v)
}

func (w *fieldWriter) write(name, v string) {
	if v == "" {
		return
	}
	line := len(name) + 1
	w.b.WriteString(name + ":")
	for _, word := range strings.Fields(v) {
		if line+1+len(word) > foldAt && line > len(name)+1 {
			w.b.WriteString("\r\n")
			line = 0
		}
		w.b.WriteByte(' ')
		w.b.WriteString(word)
		line += 1 + len(word)
	}
	w.b.WriteString("\r\n")
}

// Bytes returns the fields written so far.
func (w *fieldWriter) Bytes() []byte { return w.b.Bytes() }

// sanitizeField makes a value safe for one header field: CR, LF, NUL and TAB become
// spaces, other C0 controls and DEL are dropped, invalid UTF-8 is replaced, and runs of
// spaces collapse.
func sanitizeField(s string) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	s = strings.Map(func(r rune) rune {
		switch {
		case r == '\r' || r == '\n' || r == 0 || r == '\t':
			return ' '
		case r < 0x20 || r == 0x7f:
			return -1
		}
		return r
	}, s)
	return strings.Join(strings.Fields(s), " ")
}

// cutUTF8 cuts s to at most n bytes without splitting a character.
func cutUTF8(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}
