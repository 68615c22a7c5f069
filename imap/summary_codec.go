package imap

import (
	"encoding/binary"
	"errors"
	"fmt"
	"maps"
	"slices"
	"time"

	goimap "github.com/emersion/go-imap/v2"
)

// The message cache (store migration 0003) holds each message's ENVELOPE and
// BODYSTRUCTURE in this compact binary form, decoded on every FETCH of those items, so it
// is made for decoding speed: no reflection, no field names, strings as uvarint length +
// bytes. Every encoding starts with a version byte; a blob with an unknown version, or
// one that does not decode, is treated as missing and recomputed from the file, so the
// format can change without a migration.
//
// Envelope: date, subject, from, sender, reply-to, to, cc, bcc, in-reply-to,
// message-id. A date is a presence byte, then unix seconds (varint) and the zone offset
// in seconds (varint). An address list is uvarint(len+1), 0 meaning nil: RFC 3501's
// default of Sender and Reply-To to From depends on nil versus empty. An address is
// name, source route, mailbox, host.
//
// Body structure: a tree of parts, each tagged 'S' (single) or 'M' (multi) with its
// fields in declaration order; optional members behind a presence byte; maps as sorted
// key/value pairs, so equal structures encode to equal bytes.
//
// Versions: 2 added the address's source route (at-domain-list). Version 1 blobs, written
// before, are still read (as addresses without a route, which is what they were computed
// as: only an obsolete "<@relay:user@host>" differs), so an upgrade recomputes nothing.

const summaryVersion = 2

// minSummaryVersion is the oldest encoding still decoded.
const minSummaryVersion = 1

// errBadSummary says a cached blob does not decode; the caller recomputes.
var errBadSummary = errors.New("imap: undecodable cached summary")

// maxSummaryDepth bounds the nesting of decoded body structures (and of the
// message/rfc822 envelopes inside them), so a corrupt blob cannot recurse without end.
// It must exceed mimeparse's MaxDepth (100), or a deep but legal structure would not
// decode and be parsed from the file at every FETCH.
const maxSummaryDepth = 128

type encoder struct{ b []byte }

func (e *encoder) byte1(c byte)     { e.b = append(e.b, c) }
func (e *encoder) uvarint(v uint64) { e.b = binary.AppendUvarint(e.b, v) }
func (e *encoder) varint(v int64)   { e.b = binary.AppendVarint(e.b, v) }
func (e *encoder) bool1(v bool) {
	if v {
		e.byte1(1)
	} else {
		e.byte1(0)
	}
}
func (e *encoder) str(s string) { e.uvarint(uint64(len(s))); e.b = append(e.b, s...) }

func (e *encoder) strs(ss []string) {
	if ss == nil {
		e.uvarint(0)
		return
	}
	e.uvarint(uint64(len(ss)) + 1)
	for _, s := range ss {
		e.str(s)
	}
}

func (e *encoder) params(m map[string]string) {
	if m == nil {
		e.uvarint(0)
		return
	}
	e.uvarint(uint64(len(m)) + 1)
	for _, k := range slices.Sorted(maps.Keys(m)) {
		e.str(k)
		e.str(m[k])
	}
}

type decoder struct {
	b       []byte
	err     error
	depth   int
	version byte // of the blob being decoded
}

// start reads the version byte; false for one this build does not know.
func (d *decoder) start() bool {
	d.version = d.byte1()
	return d.err == nil && d.version >= minSummaryVersion && d.version <= summaryVersion
}

func (d *decoder) address() goimap.Address {
	var a goimap.Address
	a.Name = d.str()
	if d.version >= 2 {
		a.Route = d.str()
	}
	a.Mailbox = d.str()
	a.Host = d.str()
	return a
}

func (d *decoder) fail() {
	if d.err == nil {
		d.err = errBadSummary
	}
	d.b = nil
}

func (d *decoder) byte1() byte {
	if len(d.b) == 0 {
		d.fail()
		return 0
	}
	c := d.b[0]
	d.b = d.b[1:]
	return c
}

func (d *decoder) bool1() bool { return d.byte1() != 0 }

func (d *decoder) uvarint() uint64 {
	v, n := binary.Uvarint(d.b)
	if n <= 0 {
		d.fail()
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *decoder) varint() int64 {
	v, n := binary.Varint(d.b)
	if n <= 0 {
		d.fail()
		return 0
	}
	d.b = d.b[n:]
	return v
}

// count reads a length and checks it against what is left, so a corrupt length
// cannot make us allocate more than the blob could hold (each item takes a byte).
func (d *decoder) count() int {
	n := d.uvarint()
	if n > uint64(len(d.b)) {
		d.fail()
		return 0
	}
	return int(n)
}

func (d *decoder) str() string {
	n := d.count()
	s := string(d.b[:n])
	d.b = d.b[n:]
	return s
}

// optCount reads a nil-able list length: -1 for nil.
func (d *decoder) optCount() int {
	n := d.uvarint()
	if n == 0 {
		return -1
	}
	if n-1 > uint64(len(d.b)) {
		d.fail()
		return -1
	}
	return int(n - 1)
}

func (d *decoder) strs() []string {
	n := d.optCount()
	if n < 0 {
		return nil
	}
	out := make([]string, 0, n)
	for range n {
		out = append(out, d.str())
	}
	return out
}

func (d *decoder) params() map[string]string {
	n := d.optCount()
	if n < 0 {
		return nil
	}
	m := make(map[string]string, n)
	for range n {
		k := d.str()
		m[k] = d.str()
	}
	return m
}

// encodeEnvelope returns env in the cache's form.
func encodeEnvelope(env *goimap.Envelope) []byte {
	e := &encoder{b: make([]byte, 0, 256)}
	e.byte1(summaryVersion)
	e.envelope(env)
	return e.b
}

func (e *encoder) envelope(env *goimap.Envelope) {
	if env == nil {
		e.bool1(false)
		return
	}
	e.bool1(true)
	if env.Date.IsZero() {
		e.bool1(false)
	} else {
		e.bool1(true)
		_, off := env.Date.Zone()
		e.varint(env.Date.Unix())
		e.varint(int64(off))
	}
	e.str(env.Subject)
	for _, l := range [][]goimap.Address{env.From, env.Sender, env.ReplyTo, env.To, env.Cc, env.Bcc} {
		if l == nil {
			e.uvarint(0)
			continue
		}
		e.uvarint(uint64(len(l)) + 1)
		for _, a := range l {
			e.str(a.Name)
			e.str(a.Route)
			e.str(a.Mailbox)
			e.str(a.Host)
		}
	}
	e.strs(env.InReplyTo)
	e.str(env.MessageID)
}

// decodeEnvelope is the inverse of encodeEnvelope.
func decodeEnvelope(b []byte) (*goimap.Envelope, error) {
	d := &decoder{b: b}
	if !d.start() {
		return nil, fmt.Errorf("%w: version", errBadSummary)
	}
	env := d.envelope()
	if d.err == nil && len(d.b) != 0 {
		d.fail()
	}
	if d.err != nil {
		return nil, d.err
	}
	return env, nil
}

func (d *decoder) envelope() *goimap.Envelope {
	if !d.bool1() {
		return nil
	}
	env := &goimap.Envelope{}
	if d.bool1() {
		sec, off := d.varint(), d.varint()
		if off < -24*3600 || off > 24*3600 {
			d.fail()
			return nil
		}
		env.Date = time.Unix(sec, 0).In(time.FixedZone("", int(off)))
	}
	env.Subject = d.str()
	for _, dst := range []*[]goimap.Address{&env.From, &env.Sender, &env.ReplyTo, &env.To, &env.Cc, &env.Bcc} {
		n := d.optCount()
		if n < 0 {
			continue
		}
		l := make([]goimap.Address, 0, n)
		for range n {
			l = append(l, d.address())
		}
		*dst = l
	}
	env.InReplyTo = d.strs()
	env.MessageID = d.str()
	return env
}

// encodeStructure returns bs in the cache's form.
func encodeStructure(bs goimap.BodyStructure) []byte {
	e := &encoder{b: make([]byte, 0, 128)}
	e.byte1(summaryVersion)
	e.structure(bs)
	return e.b
}

func (e *encoder) disposition(disp *goimap.BodyStructureDisposition) {
	e.bool1(disp != nil)
	if disp != nil {
		e.str(disp.Value)
		e.params(disp.Params)
	}
}

func (e *encoder) structure(bs goimap.BodyStructure) {
	switch p := bs.(type) {
	case *goimap.BodyStructureMultiPart:
		e.byte1('M')
		e.uvarint(uint64(len(p.Children)))
		for _, c := range p.Children {
			e.structure(c)
		}
		e.str(p.Subtype)
		e.bool1(p.Extended != nil)
		if x := p.Extended; x != nil {
			e.params(x.Params)
			e.disposition(x.Disposition)
			e.strs(x.Language)
			e.str(x.Location)
		}
	case *goimap.BodyStructureSinglePart:
		e.byte1('S')
		e.str(p.Type)
		e.str(p.Subtype)
		e.params(p.Params)
		e.str(p.ID)
		e.str(p.Description)
		e.str(p.Encoding)
		e.uvarint(uint64(p.Size))
		e.bool1(p.MessageRFC822 != nil)
		if m := p.MessageRFC822; m != nil {
			e.envelope(m.Envelope)
			e.bool1(m.BodyStructure != nil)
			if m.BodyStructure != nil {
				e.structure(m.BodyStructure)
			}
			e.varint(m.NumLines)
		}
		e.bool1(p.Text != nil)
		if p.Text != nil {
			e.varint(p.Text.NumLines)
		}
		e.bool1(p.Extended != nil)
		if x := p.Extended; x != nil {
			e.disposition(x.Disposition)
			e.strs(x.Language)
			e.str(x.Location)
		}
	default:
		e.byte1('N') // no structure (a nil interface)
	}
}

// decodeStructure is the inverse of encodeStructure.
func decodeStructure(b []byte) (goimap.BodyStructure, error) {
	d := &decoder{b: b}
	if !d.start() {
		return nil, fmt.Errorf("%w: version", errBadSummary)
	}
	bs := d.structure()
	if d.err == nil && (len(d.b) != 0 || bs == nil) {
		d.fail()
	}
	if d.err != nil {
		return nil, d.err
	}
	return bs, nil
}

func (d *decoder) disposition() *goimap.BodyStructureDisposition {
	if !d.bool1() {
		return nil
	}
	return &goimap.BodyStructureDisposition{Value: d.str(), Params: d.params()}
}

func (d *decoder) structure() goimap.BodyStructure {
	d.depth++
	defer func() { d.depth-- }()
	if d.depth > maxSummaryDepth {
		d.fail()
		return nil
	}
	switch d.byte1() {
	case 'M':
		p := &goimap.BodyStructureMultiPart{}
		n := d.count()
		for range n {
			c := d.structure()
			if d.err != nil {
				return nil
			}
			p.Children = append(p.Children, c)
		}
		p.Subtype = d.str()
		if d.bool1() {
			p.Extended = &goimap.BodyStructureMultiPartExt{Params: d.params(), Disposition: d.disposition(), Language: d.strs(), Location: d.str()}
		}
		return p
	case 'S':
		p := &goimap.BodyStructureSinglePart{Type: d.str(), Subtype: d.str(), Params: d.params(), ID: d.str(), Description: d.str(), Encoding: d.str()}
		size := d.uvarint()
		if size > 0xFFFFFFFF {
			d.fail()
			return nil
		}
		p.Size = uint32(size)
		if d.bool1() {
			m := &goimap.BodyStructureMessageRFC822{Envelope: d.envelope()}
			if d.bool1() {
				m.BodyStructure = d.structure()
			}
			m.NumLines = d.varint()
			p.MessageRFC822 = m
		}
		if d.bool1() {
			p.Text = &goimap.BodyStructureText{NumLines: d.varint()}
		}
		if d.bool1() {
			p.Extended = &goimap.BodyStructureSinglePartExt{Disposition: d.disposition(), Language: d.strs(), Location: d.str()}
		}
		if d.err != nil {
			return nil
		}
		return p
	case 'N':
		return nil
	default:
		d.fail()
		return nil
	}
}
