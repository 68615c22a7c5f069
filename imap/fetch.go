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

	"github.com/postern/postern/store"
	"github.com/postern/postern/store/maildir"
)

// Fetch answers FETCH and UID FETCH. UID, FLAGS, RFC822.SIZE, INTERNALDATE and MODSEQ
// come from the index alone; ENVELOPE and BODYSTRUCTURE from the index's message cache,
// computed from the file (and stored) the first time; BODY[] is streamed from the file;
// other sections parse the message.
func (ss *session) Fetch(ctx context.Context, w *imapserver.FetchWriter, numSet goimap.NumSet, o *goimap.FetchOptions) (err error) {
	defer ss.recovered(&err)
	sel, err := ss.requireSelected()
	if err != nil {
		return err
	}
	msgs, seqs, err := ss.fetchRows(ctx, sel, sel.resolve(numSet), o)
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
	var fill []store.CacheEntry
	defer func() { ss.srv.saveSummaries(sel.id, fill) }()
	for i := range msgs {
		if err := ctx.Err(); err != nil {
			return err
		}
		entry, err := ss.fetchOne(w, f, seqs[i], &msgs[i], o)
		if entry != nil {
			fill = append(fill, *entry)
		}
		if err != nil {
			if errors.Is(err, errGone) {
				continue // expunged by another program; the next poll says so
			}
			return ss.imapError("fetch", err)
		}
	}
	return nil
}

// fetchRows loads the rows a FETCH needs: with their cache entries only when ENVELOPE or
// BODYSTRUCTURE is asked for, so a FLAGS-only FETCH reads one table.
func (ss *session) fetchRows(ctx context.Context, sel *selected, idx []int, o *goimap.FetchOptions) ([]store.CachedMessage, []uint32, error) {
	if o.Envelope || o.BodyStructure != nil {
		return ss.cachedMessages(ctx, sel, idx)
	}
	plain, seqs, err := ss.messages(ctx, sel, idx)
	if err != nil {
		return nil, nil, err
	}
	out := make([]store.CachedMessage, len(plain))
	for i, m := range plain {
		out[i].Message = m
	}
	return out, seqs, nil
}

// implicitSeen sets \Seen on messages whose body is fetched without PEEK (RFC 3501
// 6.4.5), before they are written, so the FETCH carries the new flags.
func (ss *session) implicitSeen(ctx context.Context, sel *selected, o *goimap.FetchOptions, msgs []store.CachedMessage) error {
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
			unseen = append(unseen, m.Message)
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

// fetchOne writes one message's FETCH response. It returns a cache entry to store when
// it had to compute the ENVELOPE or BODYSTRUCTURE from the file.
func (ss *session) fetchOne(w *imapserver.FetchWriter, f *folder, seq uint32, cm *store.CachedMessage, o *goimap.FetchOptions) (*store.CacheEntry, error) {
	m := cm.Message
	var path string
	filePath := func() (string, error) {
		if path != "" {
			return path, nil
		}
		p, err := f.path(m)
		if errors.Is(err, fs.ErrNotExist) {
			return "", errGone
		}
		path = p
		return p, err
	}
	// Summaries are made before the response starts: a failure must not leave half a
	// FETCH line.
	sum, err := ss.summaries(cm, o.Envelope, o.BodyStructure != nil, filePath)
	if err != nil {
		return nil, err
	}
	if len(o.BodySection) > 0 || len(o.BinarySection) > 0 || len(o.BinarySectionSize) > 0 {
		if _, err := filePath(); err != nil {
			return sum.fill, err
		}
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
	if o.Envelope {
		rw.WriteEnvelope(sum.env)
	}
	if o.BodyStructure != nil && sum.bs != nil {
		rw.WriteBodyStructure(sum.bs)
	}
	for _, item := range o.BodySection {
		if err := writeBodySection(rw, path, m, item); err != nil {
			rw.Close()
			return sum.fill, err
		}
	}
	for _, item := range o.BinarySection {
		b, err := withFile(path, func(r io.Reader) ([]byte, error) { return imapserver.ExtractBinarySection(r, item), nil })
		if err != nil {
			rw.Close()
			return sum.fill, err
		}
		if err := writeLiteral(rw.WriteBinarySection(item, int64(len(b))), b); err != nil {
			return sum.fill, err
		}
	}
	for _, item := range o.BinarySectionSize {
		n, err := withFile(path, func(r io.Reader) (uint32, error) { return imapserver.ExtractBinarySectionSize(r, item), nil })
		if err != nil {
			rw.Close()
			return sum.fill, err
		}
		rw.WriteBinarySectionSize(item, n)
	}
	return sum.fill, rw.Close()
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
