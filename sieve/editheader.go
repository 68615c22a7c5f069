package sieve

import (
	"errors"
	"fmt"
	"io"
	"mime"
	"strings"
)

// editheader (RFC 5293): addheader and deleteheader change the message the
// later tests see and the copy later actions store. Pigeonhole's rules:
// Received and Auto-Submitted cannot be deleted (the attempt is ignored),
// a field name must be valid, a value is at most maxEditHeaderSize bytes,
// non-ASCII words are RFC 2047 encoded, long values are folded, and a CR
// or LF in a value becomes a fold, so no value can start a new field.
// NUL bytes are dropped.

const maxEditHeaderSize = 2048

var protectedDelete = map[string]bool{"received": true, "auto-submitted": true}

// deleteheader's :index and :last belong to editheader itself.
var deleteheaderTags = mergeTags(matchTags, map[string]tagSpec{"index": {param: pNumber}, "last": {}})

// fieldLister is a Message whose fields can be listed in order (the parsed
// and the edited message both are).
type fieldLister interface {
	Message
	fieldList() []headerField
}

// headerLister is a parsed message: its fields and the bytes they came from.
type headerLister interface {
	fieldLister
	rawHeader() []byte
}

func (m *RawMessage) fieldList() []headerField { return m.fields }
func (m *RawMessage) rawHeader() []byte        { return m.raw }

// editedMessage is the message after editheader changes: its own fields
// over the original body.
type editedMessage struct {
	base   Message
	fields []headerField
	raw    []string // the written form of each field ("Name: value"), parallel to fields
}

func (m *editedMessage) HeaderFields(name string) []string { return fieldValues(m.fields, name) }
func (m *editedMessage) Body() (io.Reader, error)          { return m.base.Body() }
func (m *editedMessage) Size() int64                       { return m.base.Size() }
func (m *editedMessage) fieldList() []headerField          { return m.fields }

// headerBlock is the edited header as stored: fields then the blank line.
func (m *editedMessage) headerBlock() []byte {
	var b strings.Builder
	for _, r := range m.raw {
		b.WriteString(r)
		b.WriteString("\r\n")
	}
	b.WriteString("\r\n")
	return []byte(b.String())
}

// edit returns the editable form of the current message.
func (st *runState) edit() (*editedMessage, error) {
	if em, ok := st.msg.(*editedMessage); ok {
		c := &editedMessage{base: em.base, fields: append([]headerField(nil), em.fields...), raw: append([]string(nil), em.raw...)}
		return c, nil
	}
	hl, ok := st.msg.(headerLister)
	if !ok {
		return nil, errors.New("editheader: this message cannot be edited")
	}
	fs := hl.fieldList()
	em := &editedMessage{base: st.msg, fields: append([]headerField(nil), fs...), raw: make([]string, len(fs))}
	src := hl.rawHeader()
	for i, f := range fs {
		em.raw[i] = string(src[f.start:f.end])
	}
	return em, nil
}

// commit installs an edited message; every copy of the old one (the
// caches) is dropped. Edits never modify a message an earlier action kept.
func (st *runState) commit(em *editedMessage) {
	st.msg = em
	st.hdrCache = map[string][]string{}
	st.bodyCache = nil
	st.header = em.headerBlock()
}

type addheaderCmd struct {
	last        bool
	name, value value
}

func buildAddheader(c *compiler, pa *parsedArgs) (cmd, *CompileError) {
	if err := pa.positional(pString, pString); err != nil {
		return nil, err
	}
	name, err := c.one(pa.pos[0])
	if err != nil {
		return nil, err
	}
	if name.isConst() && !validFieldName(name.lit) {
		return nil, errAt(pa.pos[0].pos, ClassArgument, "addheader: invalid header field name %q", name.lit)
	}
	val, err := c.one(pa.pos[1])
	if err != nil {
		return nil, err
	}
	if val.isConst() && len(val.lit) > maxEditHeaderSize {
		return nil, errAt(pa.pos[1].pos, ClassArgument, "addheader: header value is too large (%d bytes)", len(val.lit))
	}
	return addheaderCmd{last: pa.has("last"), name: name, value: val}, nil
}

func (x addheaderCmd) exec(st *runState) error {
	name := st.expand(x.name)
	if !validFieldName(name) {
		return fmt.Errorf("addheader: invalid header field name %s", quoteJSON(name))
	}
	val := st.expand(x.value)
	if len(val) > maxEditHeaderSize {
		return fmt.Errorf("addheader: header value is too large (%d bytes)", len(val))
	}
	em, err := st.edit()
	if err != nil {
		return err
	}
	disp := canonicalFieldName(name)
	enc := encodeFieldValue(val)
	f := headerField{lname: strings.ToLower(name), orig: disp, value: unfold(enc)}
	raw := foldField(disp, enc)
	if x.last {
		em.fields = append(em.fields, f)
		em.raw = append(em.raw, raw)
	} else {
		em.fields = append([]headerField{f}, em.fields...)
		em.raw = append([]string{raw}, em.raw...)
	}
	st.commit(em)
	return nil
}

// canonicalFieldName writes a name as Pigeonhole does: each dash-separated
// word capitalised ("x-lf" -> "X-Lf").
func canonicalFieldName(s string) string {
	b := []byte(strings.ToLower(s))
	up := true
	for i, c := range b {
		if up && c >= 'a' && c <= 'z' {
			b[i] = c - 32
		}
		up = c == '-'
	}
	return string(b)
}

// encodeFieldValue drops NULs and RFC 2047-encodes every non-ASCII word.
func encodeFieldValue(v string) string {
	v = strings.ReplaceAll(v, "\x00", "")
	if isASCII(v) {
		return v
	}
	// As Pigeonhole: one encoded run from the first to the last word
	// that is not ASCII; the ASCII words around it stay as they are.
	words := strings.Split(v, " ")
	first, last := -1, -1
	for i, w := range words {
		if !isASCII(w) {
			if first < 0 {
				first = i
			}
			last = i
		}
	}
	run := mime.QEncoding.Encode("utf-8", strings.Join(words[first:last+1], " "))
	out := append(append(append([]string(nil), words[:first]...), run), words[last+1:]...)
	return strings.Join(out, " ")
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}

// foldField renders "Name: value" with lines of at most 78 octets where a
// space allows it; CR and LF in the value become folds (CRLF + TAB).
func foldField(name, v string) string {
	v = strings.ReplaceAll(v, "\r\n", "\n")
	v = strings.ReplaceAll(v, "\r", "\n")
	var b strings.Builder
	lineLen := len(name) + 2
	b.WriteString(name + ": ")
	for li, line := range strings.Split(v, "\n") {
		if li > 0 {
			line = strings.TrimLeft(line, " \t")
			if line == "" {
				continue // a fold with nothing after it would be a line of white space only (RFC 5322 3.2.2)
			}
			b.WriteString("\r\n\t")
			lineLen = 1
		}
		for wi, w := range strings.Split(line, " ") {
			if wi > 0 {
				if lineLen+1+len(w) > 78 {
					b.WriteString("\r\n\t")
					lineLen = 1
				} else {
					b.WriteByte(' ')
					lineLen++
				}
			}
			b.WriteString(w)
			lineLen += len(w)
		}
	}
	return b.String()
}

// unfold is the value later tests see: folds removed.
func unfold(v string) string {
	v = strings.ReplaceAll(v, "\r\n", "\n")
	v = strings.ReplaceAll(v, "\r", "\n")
	return strings.ReplaceAll(v, "\n", "")
}

type deleteheaderCmd struct {
	name value
	idx  indexSel
	m    *matcher // nil: delete every instance
}

func buildDeleteheader(c *compiler, pa *parsedArgs) (cmd, *CompileError) {
	if len(pa.pos) != 1 && len(pa.pos) != 2 {
		return nil, errAt(pa.at, ClassArgument, "deleteheader requires a field name and optional value patterns")
	}
	if err := checkKind(pa.pos[0], pString, "deleteheader"); err != nil {
		return nil, err
	}
	name, err := c.one(pa.pos[0])
	if err != nil {
		return nil, err
	}
	if name.isConst() && !validFieldName(name.lit) {
		return nil, errAt(pa.pos[0].pos, ClassArgument, "deleteheader: invalid header field name %q", name.lit)
	}
	idx, err := indexOf(pa)
	if err != nil {
		return nil, err
	}
	x := deleteheaderCmd{name: name, idx: idx}
	if len(pa.pos) == 2 {
		if x.m, err = c.matcher(pa, pa.pos[1]); err != nil {
			return nil, err
		}
	} else if _, ok := pa.groups["match"]; ok {
		return nil, errAt(pa.at, ClassArgument, "deleteheader: a match type needs value patterns")
	}
	return x, nil
}

func (x deleteheaderCmd) exec(st *runState) error {
	name := strings.ToLower(st.expand(x.name))
	if !validFieldName(name) {
		return fmt.Errorf("deleteheader: invalid header field name %s", quoteJSON(name))
	}
	if protectedDelete[name] {
		return nil // Pigeonhole: "modification denied", a warning only
	}
	em, err := st.edit()
	if err != nil {
		return err
	}
	var at []int // positions of the named field, in order
	for i, f := range em.fields {
		if f.lname == name {
			at = append(at, i)
		}
	}
	n := len(at)
	del := map[int]bool{}
	for k, i := range at {
		if x.idx.n > 0 {
			want := x.idx.n - 1
			if x.idx.last {
				want = n - x.idx.n
			}
			if k != want {
				continue
			}
		}
		if x.m != nil {
			ok, err := x.m.test(st, []string{decodeHeader(em.fields[i].value)})
			if err != nil {
				return err
			}
			if !ok {
				continue
			}
		}
		del[i] = true
	}
	if len(del) == 0 {
		return nil
	}
	keepF, keepR := em.fields[:0:0], em.raw[:0:0]
	for i := range em.fields {
		if !del[i] {
			keepF, keepR = append(keepF, em.fields[i]), append(keepR, em.raw[i])
		}
	}
	em.fields, em.raw = keepF, keepR
	st.commit(em)
	return nil
}
