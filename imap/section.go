package imap

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	goimap "github.com/emersion/go-imap/v2"

	"github.com/postern/postern/mimeparse"
)

// BODY[section], BINARY[section] and BINARY.SIZE[section] are answered from
// mimeparse's tree of the file, the one BODYSTRUCTURE is computed from, so a section
// number names exactly the part BODYSTRUCTURE shows (a structure flattened at the
// depth or part limit has no deeper parts), and from the file's bytes at that part's
// offsets, streamed: memory stays bounded whatever the part's size or depth (issue 14;
// the fork's Extract* functions stacked a reader per level and held each section
// whole in memory, twice).
//
// A section's length must be known before its literal starts. A section of at most
// smallSection octets in the file is read into memory once; a larger one is read
// twice, once to count what it becomes (CRLF line ends, decoding) and once to send it.

// smallSection is the largest section (in file octets) held in memory.
const smallSection = 64 << 10

// maxSectionDepth bounds the part numbers of a section: no part of a parsed tree is
// deeper than mimeparse's MaxDepth levels, and each number descends at least one,
// bar the first (a non-multipart message's part 1 is its own body).
var maxSectionDepth = mimeparse.DefaultLimits().MaxDepth + 1

// errSectionDepth answers a section with more part numbers than any message has.
var errSectionDepth = &goimap.Error{Type: goimap.StatusResponseTypeNo, Code: goimap.ResponseCodeLimit,
	Text: fmt.Sprintf("Section nested deeper than %d levels (MIME is parsed %d levels deep)",
		mimeparse.DefaultLimits().MaxDepth+1, mimeparse.DefaultLimits().MaxDepth)}

// errUnknownCTE answers BINARY of a part whose transfer encoding is not known (RFC 3516).
var errUnknownCTE = &goimap.Error{Type: goimap.StatusResponseTypeNo, Code: goimap.ResponseCodeUnknownCTE,
	Text: "Unknown Content-Transfer-Encoding"}

// msgSource is one message file read for the sections of one FETCH response: its
// MIME tree (or only its top-level header) is parsed once, on first need.
type msgSource struct {
	file *os.File
	size int64
	tree *mimeparse.Part
	top  *mimeparse.Part
}

func newMsgSource(file *os.File) (*msgSource, error) {
	fi, err := file.Stat()
	if err != nil {
		return nil, fmt.Errorf("imap: fetch: %w", err)
	}
	return &msgSource{file: file, size: fi.Size()}, nil
}

// find locates the part path names, reading the file only as far as that part's end
// (ParseUntil); a tree read to the end is kept for the next section.
func (s *msgSource) find(path []int) (p *mimeparse.Part, flat, ok bool, err error) {
	if s.tree != nil {
		p, flat, ok = locate(s.tree, path)
		return p, flat, ok, nil
	}
	r := newFileReader(io.NewSectionReader(s.file, 0, s.size))
	root, complete, err := mimeparse.ParseUntil(r, mimeparse.DefaultLimits(), func(root, closed *mimeparse.Part) bool {
		q, _, ok := locate(root, path)
		return ok && q == closed
	})
	if err != nil {
		return nil, false, false, fmt.Errorf("imap: fetch: %w", err)
	}
	if complete {
		s.tree = root
	}
	p, flat, ok = locate(root, path)
	return p, flat, ok, nil
}

// header returns the root part with at least its header's extent known.
func (s *msgSource) header() (*mimeparse.Part, error) {
	if s.tree != nil {
		return s.tree, nil
	}
	if s.top == nil {
		top, err := mimeparse.ParseTop(newFileReader(io.NewSectionReader(s.file, 0, s.size)), mimeparse.DefaultLimits())
		if err != nil {
			return nil, fmt.Errorf("imap: fetch: %w", err)
		}
		s.top = top
	}
	return s.top, nil
}

// locate finds the part that section numbers path name in root. flat says it is the
// one text/plain child that BODYSTRUCTURE shows for flattened multipart p.
func locate(root *mimeparse.Part, path []int) (p *mimeparse.Part, flat, ok bool) {
	p, asMsg := root, true
	for _, n := range path {
		if flat {
			return nil, false, false
		}
		if !asMsg && p.Message != nil {
			p, asMsg = p.Message, true // a message/rfc822 part's parts are its message's
		}
		switch {
		case p.IsMultipart():
			if n < 1 || n > len(p.Parts) {
				return nil, false, false
			}
			p = p.Parts[n-1]
		case p.Type == "multipart" && n == 1:
			flat = true
		case asMsg && n == 1 && p.Type != "multipart":
			// A non-multipart message's part 1 is its body.
		default:
			return nil, false, false
		}
		asMsg = false
	}
	return p, flat, true
}

// bodySection returns what BODY[item] is: its octets with CRLF line ends and NUL
// replaced. A section that names no part is empty.
func (s *msgSource) bodySection(item *goimap.FetchItemBodySection) (sectionData, error) {
	if len(item.Part) > maxSectionDepth {
		return sectionData{}, errSectionDepth
	}
	keep := fieldKeeper(item)
	if len(item.Part) == 0 {
		if item.Specifier == goimap.PartSpecifierHeader {
			return s.measure(s.headerOf(0, s.size, keep), s.size)
		}
		top, err := s.header()
		if err != nil {
			return sectionData{}, err
		}
		return s.measure(s.rawOf(top.BodyOffset, s.size-top.BodyOffset), s.size-top.BodyOffset)
	}
	p, flat, ok, err := s.find(item.Part)
	if err != nil {
		return sectionData{}, err
	}
	if !ok {
		return sectionData{}, nil
	}
	q := p // the message HEADER and TEXT read: p's own, or the one p holds
	if !flat && p.Message != nil {
		q = p.Message
	}
	switch {
	case item.Specifier == goimap.PartSpecifierMIME && flat:
		return s.measure(s.headerOf(0, 0, keep), 0)
	case item.Specifier == goimap.PartSpecifierMIME:
		return s.measure(s.headerOf(p.Offset, p.BodyOffset-p.Offset, keep), p.BodyOffset-p.Offset)
	case item.Specifier == goimap.PartSpecifierHeader && flat:
		return s.measure(s.headerOf(0, 0, keep), 0)
	case item.Specifier == goimap.PartSpecifierHeader:
		return s.measure(s.headerOf(q.Offset, q.BodyOffset-q.Offset, keep), q.BodyOffset-q.Offset)
	case item.Specifier == goimap.PartSpecifierText:
		return s.measure(s.rawOf(q.BodyOffset, q.Size()), q.Size())
	}
	return s.measure(s.rawOf(p.BodyOffset, p.Size()), p.Size())
}

// binarySection returns what BINARY[part] is: the part's body with its transfer
// encoding undone (the whole message: its header and decoded body).
func (s *msgSource) binarySection(part []int) (sectionData, error) {
	if len(part) > maxSectionDepth {
		return sectionData{}, errSectionDepth
	}
	p, flat, ok, err := s.find(part)
	if err != nil {
		return sectionData{}, err
	}
	if !ok {
		return sectionData{}, nil
	}
	// The octets as they are in the file (binary content may hold any byte), decoded.
	body := func() io.Reader { return p.Body(s.file) }
	if !flat && !p.IsMultipart() && p.Message == nil {
		if _, _, known := mimeparse.DecodeTransfer(p, nil); !known {
			return sectionData{}, errUnknownCTE
		}
		body = func() io.Reader {
			r, _, _ := mimeparse.DecodeTransfer(p, p.Body(s.file))
			return lenient{r}
		}
	}
	if len(part) == 0 {
		whole := func() io.Reader { return io.MultiReader(s.headerOf(0, p.BodyOffset, nil)(), body()) }
		return s.measure(whole, p.End)
	}
	return s.measure(body, p.Size())
}

// rawOf opens n octets of the file at off with CRLF line ends and NULs replaced.
func (s *msgSource) rawOf(off, n int64) func() io.Reader {
	return func() io.Reader {
		return nulFree{&crlfReader{r: bufio.NewReaderSize(io.NewSectionReader(s.file, off, n), int(min(max(n, 16), 32<<10)))}}
	}
}

// headerOf opens the header at off (at most n octets, up to its blank line) with only
// the fields keep accepts (all when keep is nil), CRLF line ends and the blank line.
func (s *msgSource) headerOf(off, n int64, keep func(string) bool) func() io.Reader {
	return func() io.Reader {
		hf := &headerFilter{r: bufio.NewReaderSize(io.NewSectionReader(s.file, off, n), 4096), keep: keep}
		return nulFree{&crlfReader{r: bufio.NewReaderSize(hf, 4096)}}
	}
}

// fieldKeeper is the field filter of HEADER.FIELDS and HEADER.FIELDS.NOT; nil keeps all.
func fieldKeeper(item *goimap.FetchItemBodySection) func(string) bool {
	match := func(list []string, name string) bool {
		for _, f := range list {
			if strings.EqualFold(f, name) {
				return true
			}
		}
		return false
	}
	switch {
	case item.Specifier != goimap.PartSpecifierHeader:
		return nil
	case len(item.HeaderFields) > 0:
		return func(name string) bool { return match(item.HeaderFields, name) }
	case len(item.HeaderFieldsNot) > 0:
		return func(name string) bool { return !match(item.HeaderFieldsNot, name) }
	}
	return nil
}

// sectionData is one section's content: held (small) or opened again to be sent.
type sectionData struct {
	held []byte
	open func() io.Reader // nil when held (or empty)
	n    int64            // the content's length
}

// measure reads the content once: held when it comes from at most smallSection
// octets of the file, else only counted.
func (s *msgSource) measure(open func() io.Reader, fileOctets int64) (sectionData, error) {
	if fileOctets <= smallSection {
		b, err := io.ReadAll(open())
		if err != nil {
			return sectionData{}, fmt.Errorf("imap: fetch: %w", err)
		}
		return sectionData{held: b, n: int64(len(b))}, nil
	}
	n, err := io.Copy(io.Discard, open())
	if err != nil {
		return sectionData{}, fmt.Errorf("imap: fetch: %w", err)
	}
	return sectionData{open: open, n: n}, nil
}

// window is the offset and length a partial (<offset.size>) selects.
func (d *sectionData) window(p *goimap.SectionPartial) (off, n int64) {
	if p == nil {
		return 0, d.n
	}
	off = min(p.Offset, d.n)
	return off, min(p.Size, d.n-off)
}

// send writes the window [off, off+n) of the content into the literal wc and closes it.
func (d *sectionData) send(wc io.WriteCloser, off, n int64) error {
	if d.open == nil {
		return writeLiteral(wc, d.held[off:off+n])
	}
	r := d.open()
	var err error
	if off > 0 {
		_, err = io.CopyN(io.Discard, r, off)
	}
	var k int64
	if err == nil {
		k, err = io.Copy(wc, io.LimitReader(r, n))
	}
	if err == nil && k < n {
		// The file changed behind our back: pad so the literal keeps its length.
		_, err = io.CopyN(wc, zeroReader{}, n-k)
	}
	if cerr := wc.Close(); err == nil {
		err = cerr
	}
	return err
}

// lenient ends a decoded body at the first decoding error, so that a corrupt base64
// or quoted-printable body gives what decodes, the same on every read.
type lenient struct{ r io.Reader }

func (l lenient) Read(p []byte) (int, error) {
	n, err := l.r.Read(p)
	if err != nil && !errors.Is(err, io.EOF) {
		err = io.EOF
	}
	return n, err
}

// headerFilter reads a header up to its blank line (or the end of r) and passes on the
// fields keep accepts (all when keep is nil), then one blank line.
type headerFilter struct {
	r       *bufio.Reader
	keep    func(string) bool
	buf     []byte // pending output
	out     []byte // what of buf is still to be read
	keeping bool   // the field being read is passed on
	midLine bool   // the last piece read did not end its line
	ended   bool
}

func (h *headerFilter) Read(p []byte) (int, error) {
	for len(h.out) == 0 {
		if h.ended {
			return 0, io.EOF
		}
		h.next()
	}
	n := copy(p, h.out)
	h.out = h.out[n:]
	return n, nil
}

// next reads one piece of a line into out.
func (h *headerFilter) next() {
	line, err := h.r.ReadSlice('\n')
	h.buf = h.buf[:0]
	if !h.midLine {
		if len(line) == 0 || line[0] == '\n' || len(line) == 2 && line[0] == '\r' && line[1] == '\n' {
			h.buf = append(h.buf, "\r\n"...)
			h.out, h.ended = h.buf, true
			return
		}
		if line[0] != ' ' && line[0] != '\t' {
			name, _, _ := bytes.Cut(line, []byte(":"))
			h.keeping = h.keep == nil || h.keep(string(bytes.TrimRight(name, " \t\r\n")))
		}
	}
	if h.keeping {
		h.buf = append(h.buf, line...)
	}
	h.midLine = errors.Is(err, bufio.ErrBufferFull)
	if err != nil && !h.midLine {
		// The header ends without its blank line: end the field's line, add the blank.
		if h.keeping && len(line) > 0 && line[len(line)-1] != '\n' {
			h.buf = append(h.buf, "\r\n"...)
		}
		h.buf, h.ended = append(h.buf, "\r\n"...), true
	}
	h.out = h.buf
}
