package imap

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime"
	"slices"

	goimap "github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapserver"

	"github.com/postern/postern/store"
	"github.com/postern/postern/store/maildir"
)

// Fetch answers FETCH and UID FETCH from the mailbox's snapshot: UID, FLAGS,
// RFC822.SIZE, INTERNALDATE and MODSEQ are in memory; ENVELOPE and BODYSTRUCTURE too
// once decoded, else taken from the index's message cache, else computed from the
// file (and stored); BODY[] is streamed from the file; other sections parse it.
func (ss *session) Fetch(ctx context.Context, w *imapserver.FetchWriter, numSet goimap.NumSet, o *goimap.FetchOptions) (err error) {
	defer ss.recovered(&err)
	sel, err := ss.requireSelected()
	if err != nil {
		return err
	}
	if o.Vanished && o.ChangedSince > 0 {
		if err := ss.fetchVanished(ctx, w, sel, numSet, o.ChangedSince); err != nil {
			return ss.imapError("fetch", err)
		}
	}
	msgs, seqs, err := ss.pick(ctx, sel, sel.resolve(numSet))
	if err != nil {
		return ss.imapError("fetch", err)
	}
	if err := ss.tellHighestModSeq(w, sel); err != nil {
		return err
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
	f, err := ss.srv.newFolder(sel.dir)
	if err != nil {
		return ss.imapError("fetch", err)
	}
	// Summaries are made before any response starts: a failure must not leave half a
	// FETCH line.
	var gone map[uint32]bool
	wantEnv, wantBS := o.Envelope, o.BodyStructure != nil
	if wantEnv || wantBS {
		if err := ss.srv.loadCachedSummaries(ctx, sel.snap, msgs, wantEnv, wantBS); err != nil {
			return ss.imapError("fetch", err)
		}
		var fill []store.CacheEntry
		if fill, gone, err = ss.srv.computeSummaries(f, msgs, wantEnv, wantBS, runtime.GOMAXPROCS(0)); err != nil {
			return ss.imapError("fetch", err)
		}
		ss.srv.saveSummaries(sel.id, fill)
	}
	showRecent := ss.recentShown(sel)
	for i := range msgs {
		if err := ctx.Err(); err != nil {
			return err
		}
		if gone[msgs[i].UID] {
			continue // expunged by another program; the next poll says so
		}
		if err := ss.fetchOne(w, f, seqs[i], msgs[i], o, showRecent); err != nil {
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
func (ss *session) implicitSeen(ctx context.Context, sel *selected, o *goimap.FetchOptions, msgs []snapMsg) error {
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
	var unseen []snapMsg
	for _, m := range msgs {
		if !containsFold(m.Flags, maildir.FlagSeen) {
			unseen = append(unseen, m)
		}
	}
	if len(unseen) == 0 {
		return nil
	}
	changes, err := ss.changeFlags(ctx, sel, unseen, func(old []string) []string {
		return append(slices.Clone(old), maildir.FlagSeen)
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

// fetchOne writes one message's FETCH response. The file is opened, and every
// section measured, before the response starts, so a vanished file skips the message
// and a section that cannot be answered fails the command rather than leaving half a
// line.
func (ss *session) fetchOne(w *imapserver.FetchWriter, f *folder, seq uint32, m snapMsg, o *goimap.FetchOptions, showRecent bool) error {
	sum := m.cell.load()
	var file *os.File
	var r *bufio.Reader
	var bodies, binaries []sectionData
	var sizes []uint32
	if len(o.BodySection) > 0 || len(o.BinarySection) > 0 || len(o.BinarySectionSize) > 0 {
		var err error
		if file, r, err = f.open(m); err != nil {
			return err
		}
		defer file.Close()
		if bodies, binaries, sizes, err = measureSections(file, o); err != nil {
			return err
		}
	}

	if o.Flags {
		if err := ss.announceKeywords(w, ss.sel, m.Flags); err != nil {
			return err
		}
	}
	rw := w.CreateMessage(seq)
	if o.UID {
		rw.WriteUID(goimap.UID(m.UID))
	}
	if o.Flags {
		rw.WriteFlags(ss.sel.flagsOf(m.UID, m.Flags, showRecent))
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
	for i, item := range o.BodySection {
		var err error
		if isWhole(item) {
			r.Reset(io.NewSectionReader(file, 0, 1<<62)) // each from the start
			err = writeWholeBody(rw, r, m.Message, item)
		} else {
			off, n := bodies[i].window(item.Partial)
			err = bodies[i].send(rw.WriteBodySection(item, n), off, n)
		}
		if err != nil {
			rw.Close()
			return err
		}
	}
	for i, item := range o.BinarySection {
		off, n := binaries[i].window(item.Partial)
		if err := binaries[i].send(rw.WriteBinarySection(item, n), off, n); err != nil {
			rw.Close()
			return err
		}
	}
	for i, item := range o.BinarySectionSize {
		rw.WriteBinarySectionSize(item, sizes[i])
	}
	return rw.Close()
}

// measureSections measures every section but the whole message (BODY[], streamed
// as it is sent) that o asks of file (section.go).
func measureSections(file *os.File, o *goimap.FetchOptions) (bodies, binaries []sectionData, sizes []uint32, err error) {
	src, err := newMsgSource(file)
	if err != nil {
		return nil, nil, nil, err
	}
	bodies = make([]sectionData, len(o.BodySection))
	for i, item := range o.BodySection {
		if !isWhole(item) {
			if bodies[i], err = src.bodySection(item); err != nil {
				return nil, nil, nil, err
			}
		}
	}
	binaries = make([]sectionData, len(o.BinarySection))
	for i, item := range o.BinarySection {
		if binaries[i], err = src.binarySection(item.Part); err != nil {
			return nil, nil, nil, err
		}
	}
	sizes = make([]uint32, len(o.BinarySectionSize))
	for i, item := range o.BinarySectionSize {
		d, err := src.binarySection(item.Part)
		if err != nil {
			return nil, nil, nil, err
		}
		sizes[i] = uint32(min(d.n, 1<<32-1))
	}
	return bodies, binaries, sizes, nil
}

// isWhole says item is the whole message (BODY[], RFC822).
func isWhole(item *goimap.FetchItemBodySection) bool {
	return item.Specifier == goimap.PartSpecifierNone && len(item.Part) == 0
}

// writeWholeBody streams the whole message (BODY[] and RFC822) from the start of the
// file, which src reads, with CRLF line ends.
func writeWholeBody(rw *imapserver.FetchResponseWriter, src *bufio.Reader, m store.Message, item *goimap.FetchItemBodySection) error {
	size := m.Size // the CRLF size (W=), as indexed
	start, length := int64(0), size
	if p := item.Partial; p != nil {
		start = min(p.Offset, size)
		length = min(p.Size, size-start)
	}
	wc := rw.WriteBodySection(item, length)
	crlf := &crlfReader{r: src}
	if start > 0 {
		if _, err := io.CopyN(io.Discard, crlf, start); err != nil && !errors.Is(err, io.EOF) {
			wc.Close()
			return fmt.Errorf("imap: fetch %s: %w", m.Filename, err)
		}
	}
	n, err := io.Copy(wc, nulFree{io.LimitReader(crlf, length)})
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

// replaceNUL replaces NUL bytes, which a BODY literal must not carry (RFC 3501 CHAR8;
// only BINARY's literal8 may), with 0x80, as Dovecot does; b is changed in place.
func replaceNUL(b []byte) []byte {
	for i := bytes.IndexByte(b, 0); i >= 0; i = bytes.IndexByte(b, 0) {
		b[i] = 0x80
	}
	return b
}

// nulFree is a reader whose NUL bytes come out as 0x80 (replaceNUL).
type nulFree struct{ r io.Reader }

func (n nulFree) Read(p []byte) (int, error) {
	k, err := n.r.Read(p)
	replaceNUL(p[:k])
	return k, err
}

type zeroReader struct{}

func (zeroReader) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = ' '
	}
	return len(p), nil
}

// crlfReader reads a file with every bare LF turned into CRLF. It works on what r has
// buffered, copying the runs between line ends, so streaming a large message costs a
// few copies rather than a call per byte.
type crlfReader struct {
	r         *bufio.Reader
	prevCR    bool // the last byte passed on was CR
	pendingLF bool // a CR was passed on for a bare LF whose LF did not fit
}

func (c *crlfReader) Read(p []byte) (int, error) {
	n := 0
	for n < len(p) {
		if c.pendingLF {
			p[n], c.pendingLF, c.prevCR = '\n', false, false
			n++
			continue
		}
		if c.r.Buffered() == 0 {
			if _, err := c.r.Peek(1); err != nil {
				if n > 0 {
					return n, nil
				}
				return 0, err
			}
		}
		buf, _ := c.r.Peek(c.r.Buffered())
		seg := buf[:min(len(buf), len(p)-n)]
		j := bytes.IndexByte(seg, '\n')
		if j < 0 {
			copy(p[n:], seg)
			n += len(seg)
			c.prevCR = seg[len(seg)-1] == '\r'
			_, _ = c.r.Discard(len(seg))
			continue
		}
		copy(p[n:], seg[:j])
		n += j
		crBefore := c.prevCR
		if j > 0 {
			crBefore = seg[j-1] == '\r'
		}
		_, _ = c.r.Discard(j + 1)
		if crBefore {
			p[n], c.prevCR = '\n', false // j < len(seg) <= len(p)-n: it fits
		} else {
			p[n], c.pendingLF = '\r', true
		}
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
