package imap

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"

	goimap "github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapserver"
	"github.com/emersion/go-message/textproto"

	"github.com/postern/postern/store"
	"github.com/postern/postern/store/maildir"
)

// Fetch answers FETCH and UID FETCH. UID, FLAGS, RFC822.SIZE, INTERNALDATE and MODSEQ
// come from the index alone; ENVELOPE reads only the header; BODY[] is streamed from the
// file; other sections and BODYSTRUCTURE parse the message.
func (ss *session) Fetch(ctx context.Context, w *imapserver.FetchWriter, numSet goimap.NumSet, o *goimap.FetchOptions) (err error) {
	defer ss.recovered(&err)
	sel, err := ss.requireSelected()
	if err != nil {
		return err
	}
	msgs, seqs, err := ss.messages(ctx, sel, sel.resolve(numSet))
	if err != nil {
		return ss.imapError("fetch", err)
	}
	if o.ChangedSince > 0 {
		keep, keepSeq := msgs[:0], seqs[:0]
		for i, m := range msgs {
			if m.ModSeq > o.ChangedSince {
				keep, keepSeq = append(keep, m), append(keepSeq, seqs[i])
			}
		}
		msgs, seqs = keep, keepSeq
	}
	if err := ss.implicitSeen(ctx, sel, o, msgs); err != nil {
		return ss.imapError("fetch", err)
	}
	f, err := newFolder(sel.dir)
	if err != nil {
		return ss.imapError("fetch", err)
	}
	for i, m := range msgs {
		if err := ctx.Err(); err != nil {
			return err
		}
		if err := ss.fetchOne(w, f, seqs[i], m, o); err != nil {
			if errors.Is(err, errGone) {
				continue // expunged by another program; the next poll says so
			}
			return ss.imapError("fetch", err)
		}
	}
	return nil
}

// implicitSeen sets \Seen on messages whose body is fetched without PEEK (RFC 3501
// 6.4.5), before they are written, so the FETCH carries the new flags.
func (ss *session) implicitSeen(ctx context.Context, sel *selected, o *goimap.FetchOptions, msgs []store.Message) error {
	if sel.readOnly {
		return nil
	}
	setsSeen := false
	for _, s := range o.BodySection {
		setsSeen = setsSeen || !s.Peek
	}
	for _, s := range o.BinarySection {
		setsSeen = setsSeen || !s.Peek
	}
	if !setsSeen {
		return nil
	}
	var unseen []store.Message
	for _, m := range msgs {
		if !containsFold(m.Flags, maildir.FlagSeen) {
			unseen = append(unseen, m)
		}
	}
	if len(unseen) == 0 {
		return nil
	}
	changes, err := ss.changeFlags(ctx, sel, unseen, func(old []string) []string {
		return append(old, maildir.FlagSeen)
	})
	if err != nil {
		return err
	}
	for i := range msgs {
		if ch, ok := changes[msgs[i].UID]; ok {
			msgs[i].Flags, msgs[i].ModSeq = ch.flags, ch.modseq
		}
	}
	if !o.Flags {
		o.Flags = len(changes) > 0
	}
	return nil
}

func (ss *session) fetchOne(w *imapserver.FetchWriter, f *folder, seq uint32, m store.Message, o *goimap.FetchOptions) error {
	needsFile := o.Envelope || o.BodyStructure != nil || len(o.BodySection) > 0 ||
		len(o.BinarySection) > 0 || len(o.BinarySectionSize) > 0
	var path string
	if needsFile {
		p, err := f.path(m)
		if errors.Is(err, fs.ErrNotExist) {
			return errGone
		}
		if err != nil {
			return err
		}
		path = p
	}
	// Parse before the response starts: a failure must not leave half a FETCH line.
	var env *goimap.Envelope
	if o.Envelope {
		e, err := readEnvelope(path)
		if err != nil {
			return err
		}
		env = e
	}
	var bs goimap.BodyStructure
	if o.BodyStructure != nil {
		b, err := withFile(path, func(r io.Reader) (goimap.BodyStructure, error) {
			return imapserver.ExtractBodyStructure(r), nil
		})
		if err != nil {
			return err
		}
		bs = b
	}

	rw := w.CreateMessage(seq)
	if o.UID {
		rw.WriteUID(goimap.UID(m.UID))
	}
	if o.Flags {
		rw.WriteFlags(toFlags(m.Flags))
	}
	if o.RFC822Size {
		rw.WriteRFC822Size(m.Size)
	}
	if o.InternalDate {
		rw.WriteInternalDate(m.InternalDate)
	}
	if o.ModSeq || o.ChangedSince > 0 {
		rw.WriteModSeq(m.ModSeq)
	}
	if env != nil {
		rw.WriteEnvelope(env)
	}
	if bs != nil {
		rw.WriteBodyStructure(bs)
	}
	for _, item := range o.BodySection {
		if err := writeBodySection(rw, path, m, item); err != nil {
			rw.Close()
			return err
		}
	}
	for _, item := range o.BinarySection {
		b, err := withFile(path, func(r io.Reader) ([]byte, error) { return imapserver.ExtractBinarySection(r, item), nil })
		if err != nil {
			rw.Close()
			return err
		}
		if err := writeLiteral(rw.WriteBinarySection(item, int64(len(b))), b); err != nil {
			return err
		}
	}
	for _, item := range o.BinarySectionSize {
		n, err := withFile(path, func(r io.Reader) (uint32, error) { return imapserver.ExtractBinarySectionSize(r, item), nil })
		if err != nil {
			rw.Close()
			return err
		}
		rw.WriteBinarySectionSize(item, n)
	}
	return rw.Close()
}

// writeBodySection writes one BODY[...] item. The whole message (BODY[] and
// RFC822) is streamed from the file with CRLF line ends; parts are extracted.
func writeBodySection(rw *imapserver.FetchResponseWriter, path string, m store.Message, item *goimap.FetchItemBodySection) error {
	whole := item.Specifier == goimap.PartSpecifierNone && len(item.Part) == 0
	if !whole {
		b, err := withFile(path, func(r io.Reader) ([]byte, error) { return imapserver.ExtractBodySection(r, item), nil })
		if err != nil {
			return err
		}
		return writeLiteral(rw.WriteBodySection(item, int64(len(b))), toCRLF(b))
	}
	file, r, err := openMessage(path)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return errGone
		}
		return err
	}
	defer file.Close()
	size := m.Size // the CRLF size (W=), as indexed
	start, length := int64(0), size
	if p := item.Partial; p != nil {
		start = min(p.Offset, size)
		length = min(p.Size, size-start)
	}
	wc := rw.WriteBodySection(item, length)
	src := &crlfReader{r: r}
	if start > 0 {
		if _, err := io.CopyN(io.Discard, src, start); err != nil && !errors.Is(err, io.EOF) {
			wc.Close()
			return fmt.Errorf("imap: fetch %s: %w", m.Filename, err)
		}
	}
	n, err := io.Copy(wc, io.LimitReader(src, length))
	if err == nil && n < length {
		// The file is shorter than indexed (changed behind our back): pad so the
		// literal keeps its announced length and the protocol stays in step.
		_, err = io.CopyN(wc, zeroReader{}, length-n)
	}
	if cerr := wc.Close(); err == nil {
		err = cerr
	}
	return err
}

type zeroReader struct{}

func (zeroReader) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = ' '
	}
	return len(p), nil
}

// crlfReader reads a file with every bare LF turned into CRLF.
type crlfReader struct {
	r         *bufio.Reader
	prevCR    bool
	pendingLF bool
}

func (c *crlfReader) Read(p []byte) (int, error) {
	n := 0
	for n < len(p) {
		if c.pendingLF {
			p[n], c.pendingLF, c.prevCR = '\n', false, false
			n++
			continue
		}
		b, err := c.r.ReadByte()
		if err != nil {
			if n > 0 {
				return n, nil
			}
			return 0, err
		}
		if b == '\n' && !c.prevCR {
			p[n], c.pendingLF = '\r', true
			n++
			continue
		}
		p[n], c.prevCR = b, b == '\r'
		n++
	}
	return n, nil
}

func writeLiteral(wc io.WriteCloser, b []byte) error {
	if _, err := wc.Write(b); err != nil {
		wc.Close()
		return err
	}
	return wc.Close()
}

// withFile runs fn on the message file's contents.
func withFile[T any](path string, fn func(io.Reader) (T, error)) (T, error) {
	var zero T
	f, r, err := openMessage(path)
	if errors.Is(err, fs.ErrNotExist) {
		return zero, errGone
	}
	if err != nil {
		return zero, err
	}
	defer f.Close()
	return fn(r)
}

// readEnvelope reads only the header of the message.
func readEnvelope(path string) (*goimap.Envelope, error) {
	return withFile(path, func(r io.Reader) (*goimap.Envelope, error) {
		h, err := textproto.ReadHeader(bufio.NewReader(r))
		if err != nil && !errors.Is(err, io.EOF) {
			// A malformed header still gets an envelope of what could be read.
			return imapserver.ExtractEnvelope(h), nil
		}
		return imapserver.ExtractEnvelope(h), nil
	})
}
