package mimeparse

import (
	"mime"
	"net/mail"
	"strings"
	"time"

	"github.com/emersion/go-message/charset"
)

// Address is one entry of an ENVELOPE address list. A group is a start marker (Mailbox
// holds the group's display name, Host is empty), its members, and an end marker (all
// empty), as RFC 3501 section 7.4.2 encodes RFC 5322 groups. Route is an obsolete
// source route ("@relay.example" of "<@relay.example:user@example.org>", RFC 5322 4.4),
// ENVELOPE's at-domain-list.
type Address struct {
	Name, Route, Mailbox, Host string
}

// Envelope is what IMAP's ENVELOPE reports of a header (RFC 3501 section 7.4.2).
// Subject and display names are decoded (RFC 2047); Message-ID and In-Reply-To are the
// ids without their angle brackets.
type Envelope struct {
	Date                               time.Time
	Subject                            string
	From, Sender, ReplyTo, To, Cc, Bcc []Address
	InReplyTo                          []string
	MessageID                          string
}

// decoder decodes RFC 2047 words in any charset go-message knows.
func decoder() *mime.WordDecoder { return &mime.WordDecoder{CharsetReader: charset.Reader} }

// Envelope reads the ENVELOPE fields of h.
func (h *Header) Envelope() *Envelope {
	d := decoder()
	e := &Envelope{
		Subject:   DecodeText(d, h.Get("Subject")),
		From:      AddressList(h.Get("From")),
		Sender:    AddressList(h.Get("Sender")),
		ReplyTo:   AddressList(h.Get("Reply-To")),
		To:        AddressList(h.Get("To")),
		Cc:        AddressList(h.Get("Cc")),
		Bcc:       AddressList(h.Get("Bcc")),
		InReplyTo: MsgIDs(h.Get("In-Reply-To")),
	}
	if ids := MsgIDs(h.Get("Message-Id")); len(ids) > 0 {
		e.MessageID = ids[0]
	}
	if v := h.Get("Date"); v != "" {
		if t, err := mail.ParseDate(v); err == nil {
			e.Date = t
		}
	}
	return e
}

// DecodeText decodes RFC 2047 encoded words in an unstructured field; what does not
// decode stays as written.
func DecodeText(d *mime.WordDecoder, v string) string {
	s, err := d.DecodeHeader(v)
	if err != nil {
		return v
	}
	return s
}

// MsgIDs returns the "<...>" message IDs of a Message-ID, References or In-Reply-To
// value, in order, without the brackets.
func MsgIDs(v string) []string {
	var out []string
	for {
		i := strings.IndexByte(v, '<')
		if i < 0 {
			return out
		}
		j := strings.IndexByte(v[i:], '>')
		if j < 0 {
			return out
		}
		if id := strings.TrimSpace(v[i+1 : i+j]); id != "" {
			out = append(out, id)
		}
		v = v[i+j+1:]
	}
}
