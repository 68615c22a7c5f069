package imap

import (
	"bufio"
	"io"
	"strings"

	goimap "github.com/emersion/go-imap/v2"

	"github.com/postern/postern/mimeparse"
)

// ENVELOPE and BODYSTRUCTURE are computed by mimeparse, in one bounded streaming pass
// over the file (issue 14: the fork's ExtractBodyStructure read every nested message
// into memory again, so 400 levels of message/rfc822 took gigabytes). This file maps
// mimeparse's tree onto go-imap's types.

// parseStructure reads the whole message for its envelope and structure.
func parseStructure(r io.Reader) (*goimap.Envelope, goimap.BodyStructure, error) {
	root, err := mimeparse.Parse(r, mimeparse.DefaultLimits())
	if err != nil {
		return nil, nil, err
	}
	return envelopeOf(root.Header.Envelope()), bodyStructureOf(root), nil
}

// parseEnvelope reads only the header for the envelope.
func parseEnvelope(r io.Reader) (*goimap.Envelope, error) {
	h, err := mimeparse.ParseHeader(r, mimeparse.DefaultLimits())
	if err != nil {
		return nil, err
	}
	return envelopeOf(h.Envelope()), nil
}

// newFileReader is the buffered reader the parsers are given for a file.
func newFileReader(r io.Reader) *bufio.Reader { return bufio.NewReaderSize(r, 32<<10) }

func envelopeOf(e *mimeparse.Envelope) *goimap.Envelope {
	return &goimap.Envelope{
		Date: e.Date, Subject: e.Subject,
		From: addressesOf(e.From), Sender: addressesOf(e.Sender), ReplyTo: addressesOf(e.ReplyTo),
		To: addressesOf(e.To), Cc: addressesOf(e.Cc), Bcc: addressesOf(e.Bcc),
		InReplyTo: e.InReplyTo, MessageID: e.MessageID,
	}
}

func addressesOf(l []mimeparse.Address) []goimap.Address {
	if len(l) == 0 {
		return nil
	}
	out := make([]goimap.Address, len(l))
	for i, a := range l {
		out[i] = goimap.Address{Name: a.Name, Route: a.Route, Mailbox: a.Mailbox, Host: a.Host}
	}
	return out
}

// bodyStructureOf maps a part. A flattened multipart (past a limit, or whose boundary
// never appears) is reported with one text/plain child spanning its body, as the
// grammar needs one child; a flattened message/rfc822 as application/octet-stream.
func bodyStructureOf(p *mimeparse.Part) goimap.BodyStructure {
	h := &p.Header
	if p.Type == "multipart" {
		bs := &goimap.BodyStructureMultiPart{Subtype: p.Subtype, Extended: &goimap.BodyStructureMultiPartExt{
			Params: p.Params, Disposition: dispositionOf(h), Language: languageOf(h), Location: h.Get("Content-Location"),
		}}
		if p.Flattened {
			bs.Children = []goimap.BodyStructure{&goimap.BodyStructureSinglePart{
				Type: "text", Subtype: "plain", Params: map[string]string{"charset": "us-ascii"},
				Size: uint32(p.Size()), Text: &goimap.BodyStructureText{NumLines: p.Lines},
				Extended: &goimap.BodyStructureSinglePartExt{},
			}}
			return bs
		}
		for _, c := range p.Parts {
			bs.Children = append(bs.Children, bodyStructureOf(c))
		}
		return bs
	}
	bs := &goimap.BodyStructureSinglePart{
		Type: p.Type, Subtype: p.Subtype, Params: p.Params,
		ID: h.Get("Content-Id"), Description: h.Get("Content-Description"),
		Encoding: strings.TrimSpace(h.Get("Content-Transfer-Encoding")), Size: uint32(p.Size()),
		Extended: &goimap.BodyStructureSinglePartExt{
			Disposition: dispositionOf(h), Language: languageOf(h), Location: h.Get("Content-Location"),
		},
	}
	switch {
	case p.Message != nil:
		bs.MessageRFC822 = &goimap.BodyStructureMessageRFC822{
			Envelope: envelopeOf(p.Message.Header.Envelope()), BodyStructure: bodyStructureOf(p.Message), NumLines: p.Lines,
		}
	case p.Type == "message" && p.Flattened:
		bs.Type, bs.Subtype, bs.Params = "application", "octet-stream", nil
	case p.Type == "text":
		bs.Text = &goimap.BodyStructureText{NumLines: p.Lines}
	}
	return bs
}

func dispositionOf(h *mimeparse.Header) *goimap.BodyStructureDisposition {
	v := h.Get("Content-Disposition")
	if v == "" {
		return nil
	}
	disp, params := mimeparse.Disposition(v)
	if disp == "" {
		return nil
	}
	return &goimap.BodyStructureDisposition{Value: disp, Params: params}
}

func languageOf(h *mimeparse.Header) []string {
	v := h.Get("Content-Language")
	if v == "" {
		return nil
	}
	l := strings.Split(v, ",")
	for i, lang := range l {
		l[i] = strings.TrimSpace(lang)
	}
	return l
}
