package milter

import (
	"io"
	"strings"

	gomilter "github.com/emersion/go-milter"

	"github.com/postern/postern/smtp"
)

// field is one header field as received: raw holds its lines with CRLF.
// name is "" for a line that is neither a field nor a continuation, which is
// kept in place but not shown to the milter.
type field struct {
	name, value, raw string
}

// header is the parsed header block of a message; size is the number of
// octets it (and the blank line ending it, when there is one) takes, so the
// body starts at that offset.
type header struct {
	fields []field
	sep    string // "\r\n" when a blank line ended the header
	size   int64
}

// readHeader reads the header block from r, at most max octets; the reader is
// left at the start of the body. A header longer than max ends at the last
// whole line before it, and the rest is treated as body.
func readHeader(r io.Reader, max int64) (*header, error) {
	// The reader must stay positioned exactly after the header for the body,
	// so lines are read byte-exact through a small buffer over a byte reader.
	br := &byteReader{r: r}
	h := &header{}
	for h.size < max {
		line, err := br.readLine(max - h.size)
		if line == "" && err != nil {
			if err == io.EOF {
				return h, nil
			}
			return nil, err
		}
		h.size += int64(len(line))
		text := strings.TrimRight(line, "\r\n")
		switch {
		case text == "":
			h.sep = line
			return h, nil
		case (text[0] == ' ' || text[0] == '\t') && len(h.fields) > 0:
			last := &h.fields[len(h.fields)-1]
			last.raw += line
			if last.name != "" {
				// Milters get the value with its folding kept (as Sendmail
				// sends it), line ends as LF.
				last.value += "\n" + text
			}
		default:
			n, v, ok := strings.Cut(text, ":")
			n = strings.TrimRight(n, " \t")
			if !ok || n == "" || strings.ContainsAny(n, " \t") {
				h.fields = append(h.fields, field{raw: line})
				continue
			}
			h.fields = append(h.fields, field{name: n, value: strings.TrimLeft(v, " \t"), raw: line})
		}
		if err != nil {
			return h, nil
		}
	}
	return h, nil
}

// byteReader reads lines one byte at a time, so that nothing after the line
// is consumed from the underlying reader.
type byteReader struct {
	r   io.Reader
	one [1]byte
}

func (b *byteReader) readLine(max int64) (string, error) {
	var sb strings.Builder
	for int64(sb.Len()) < max {
		n, err := b.r.Read(b.one[:])
		if n == 1 {
			sb.WriteByte(b.one[0])
			if b.one[0] == '\n' {
				return sb.String(), nil
			}
		}
		if err != nil {
			return sb.String(), err
		}
	}
	return sb.String(), nil
}

// rewrite applies the milter's header changes to msg: the result has the new
// header and reads the body from msg when opened.
func rewrite(msg smtp.Message, h *header, mods []gomilter.ModifyAction) (smtp.Message, error) {
	fields := append([]field(nil), h.fields...)
	for _, m := range mods {
		f := field{name: m.HeaderName, raw: formatField(m.HeaderName, m.HeaderValue)}
		switch m.Code {
		case gomilter.ActAddHeader:
			fields = append(fields, f)
		case gomilter.ActInsertHeader:
			// The index counts every field from the top; 0 is the first.
			i := min(int(m.HeaderIndex), len(fields))
			fields = append(fields[:i], append([]field{f}, fields[i:]...)...)
		case gomilter.ActChangeHeader:
			fields = changeField(fields, m)
		}
	}
	var sb strings.Builder
	for _, f := range fields {
		sb.WriteString(f.raw)
	}
	sep := h.sep
	if sep == "" {
		sep = "\r\n"
	}
	sb.WriteString(sep)
	return &rewritten{header: sb.String(), orig: msg, bodyOff: h.size}, nil
}

// changeField replaces the HeaderIndex-th (from 1) field named HeaderName, or
// deletes it when the new value is empty (smfi_chgheader). A change of a field
// that is not there adds it, as Sendmail does.
func changeField(fields []field, m gomilter.ModifyAction) []field {
	n := 0
	for i, f := range fields {
		if !strings.EqualFold(f.name, m.HeaderName) {
			continue
		}
		if n++; uint32(n) != max(m.HeaderIndex, 1) {
			continue
		}
		if m.HeaderValue == "" {
			return append(fields[:i], fields[i+1:]...)
		}
		fields[i] = field{name: m.HeaderName, raw: formatField(m.HeaderName, m.HeaderValue)}
		return fields
	}
	if m.HeaderValue == "" {
		return fields
	}
	return append(fields, field{name: m.HeaderName, raw: formatField(m.HeaderName, m.HeaderValue)})
}

// formatField writes a field a milter gave: its line ends (LF or CRLF, used
// for folding) become CRLF, and a value that does not start with white space
// gets the customary one space after the colon.
func formatField(name, value string) string {
	value = strings.ReplaceAll(value, "\r\n", "\n")
	value = strings.ReplaceAll(value, "\r", "")
	value = strings.ReplaceAll(value, "\n", "\r\n")
	if value != "" && value[0] != ' ' && value[0] != '\t' {
		value = " " + value
	}
	return name + ":" + value + "\r\n"
}

// rewritten is a message with a new header in front of the original body.
type rewritten struct {
	header  string
	orig    smtp.Message
	bodyOff int64
}

func (m *rewritten) Size() int64 { return int64(len(m.header)) + m.orig.Size() - m.bodyOff }

func (m *rewritten) Open() (io.ReadCloser, error) {
	rc, err := m.orig.Open()
	if err != nil {
		return nil, err
	}
	if _, err := io.CopyN(io.Discard, rc, m.bodyOff); err != nil {
		rc.Close()
		return nil, err
	}
	return struct {
		io.Reader
		io.Closer
	}{io.MultiReader(strings.NewReader(m.header), rc), rc}, nil
}
