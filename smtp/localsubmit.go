package smtp

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/mail"
	"strings"
	"time"
)

// LocalHeaderOptions say how PrepareLocal fixes a message handed to `postern
// sendmail` by a local program (cron, mailx, a script).
type LocalHeaderOptions struct {
	// Hostname is our name, for Message-ID and to qualify bare local parts
	// ("root" becomes "root@Hostname", as Postfix's myorigin does).
	Hostname string
	// From is the From: field value added when the message has none, e.g.
	// `"Cron Daemon" <root@mail.example.com>`.
	From string
	// Trace is a header field (with its CRLF) put first, e.g. the Received:
	// line naming the caller's uid. "" for none.
	Trace string
	// Received is the time for a missing Date:.
	Received time.Time
	// ExtractRecipients is sendmail -t: the addresses of To:, Cc: and Bcc: are
	// returned, and Bcc: is removed so that no recipient sees the others.
	ExtractRecipients bool
	// MaxHeaderBytes bounds the header block; beyond it the message is refused.
	MaxHeaderBytes int64
}

// PrepareLocal applies the submission fixes of RFC 6409 section 8 to a locally
// submitted message: a missing From: (RFC 5322 section 3.6.2), Date: (section
// 8.2) and Message-ID: (section 8.3) are added, and with ExtractRecipients the
// recipients are read from the header and Bcc: removed (RFC 5322 section
// 3.6.3). Unlike network submission, the From: is not checked against the
// caller: the socket's permissions are the authorisation. The message must
// have CRLF line ends. Errors are *ReplyError.
func PrepareLocal(msg Message, o LocalHeaderOptions) (Message, []string, error) {
	rc, err := msg.Open()
	if err != nil {
		return nil, nil, fmt.Errorf("opening message: %w", err)
	}
	h, err := parseHeader(rc, o.MaxHeaderBytes)
	rc.Close()
	switch {
	case errors.Is(err, errHeaderTooBig):
		return nil, nil, headerTooBig(o.MaxHeaderBytes, 0)
	case errors.Is(err, errHeaderMalformed):
		return nil, nil, errHeaderSyntax
	case err != nil:
		return nil, nil, fmt.Errorf("reading header: %w", err)
	}
	if len(h.get("Received")) >= DefaultMaxHops {
		return nil, nil, errTooManyHops
	}
	var rcpts []string
	if o.ExtractRecipients {
		for _, name := range []string{"To", "Cc", "Bcc"} {
			for _, v := range h.get(name) {
				addrs, err := recipientList(v, o.Hostname)
				if err != nil {
					return nil, nil, Reply(554, [3]int{5, 6, 0}, "Error: malformed %s: header", name)
				}
				rcpts = append(rcpts, addrs...)
			}
		}
	}
	end := h.End
	if end == 0 && len(h.Fields) > 0 {
		// The last header line has no line end, so the message is all header:
		// take it whole and end it, so that fields can follow it.
		end = msg.Size()
	}
	raw, err := headerBytes(msg, end)
	if err != nil {
		return nil, nil, err
	}
	if len(raw) > 0 && raw[len(raw)-1] != '\n' {
		raw = append(raw, '\r', '\n')
	}
	var head bytes.Buffer
	head.WriteString(o.Trace)
	if o.ExtractRecipients {
		raw = dropField(raw, "Bcc")
	}
	head.Write(raw)
	if len(h.get("From")) == 0 {
		head.WriteString("From: " + o.From + "\r\n")
	}
	if len(h.get("Date")) == 0 {
		head.WriteString("Date: " + o.Received.Format(headerDateLayout) + "\r\n")
	}
	if len(h.get("Message-ID")) == 0 {
		head.WriteString("Message-ID: " + newMessageID(o.Hostname) + "\r\n")
	}
	return &rebuiltMessage{head: head.Bytes(), orig: msg, at: end}, rcpts, nil
}

// headerBytes reads the first n octets of msg (the header block, already
// bounded by parseHeader).
func headerBytes(msg Message, n int64) ([]byte, error) {
	rc, err := msg.Open()
	if err != nil {
		return nil, fmt.Errorf("opening message: %w", err)
	}
	defer rc.Close()
	b := make([]byte, n)
	if _, err := io.ReadFull(rc, b); err != nil {
		return nil, fmt.Errorf("reading header: %w", err)
	}
	return b, nil
}

// dropField removes every field called name, with its continuation lines,
// from a raw header block.
func dropField(raw []byte, name string) []byte {
	var out []byte
	drop := false
	for len(raw) > 0 {
		i := bytes.IndexByte(raw, '\n')
		line := raw
		if i >= 0 {
			line = raw[:i+1]
		}
		raw = raw[len(line):]
		if line[0] != ' ' && line[0] != '\t' {
			n, _, ok := splitField(trimEOL(line))
			drop = ok && strings.EqualFold(n, name)
		}
		if !drop {
			out = append(out, line...)
		}
	}
	return out
}

// recipientList parses an address-list header value (RFC 5322 section 3.4),
// groups included, and returns the normalised addresses. A bare local part
// ("root", which cron and scripts write) is qualified with domain.
func recipientList(value, domain string) ([]string, error) {
	p := mail.AddressParser{WordDecoder: &mime.WordDecoder{
		CharsetReader: func(_ string, r io.Reader) (io.Reader, error) { return r, nil },
	}}
	list, err := p.ParseList(value)
	if err != nil {
		// Not RFC 5322: perhaps "root, Admin <admin@example.org>", with bare
		// local parts the way cron and scripts write them.
		var out []string
		for _, part := range strings.Split(value, ",") {
			part = strings.TrimSpace(part)
			if part == "" {
				continue
			}
			if a, err := p.Parse(part); err == nil {
				part = a.Address
			}
			a, err := QualifyAddress(part, domain)
			if err != nil {
				return nil, err
			}
			out = append(out, a)
		}
		return out, nil
	}
	out := make([]string, 0, len(list))
	for _, a := range list {
		addr, err := QualifyAddress(a.Address, domain)
		if err != nil {
			return nil, err
		}
		out = append(out, addr)
	}
	return out, nil
}

// QualifyAddress normalises a recipient given to sendmail; a bare local part
// gets "@domain" appended.
func QualifyAddress(s, domain string) (string, error) {
	s = strings.TrimSuffix(strings.TrimPrefix(strings.TrimSpace(s), "<"), ">")
	if !strings.Contains(s, "@") {
		s += "@" + domain
	}
	a, err := ParseAddress(s, true)
	if err != nil {
		return "", err
	}
	return a.String(), nil
}

// rebuiltMessage is a message whose header block (the first at octets of
// orig) is replaced by head.
type rebuiltMessage struct {
	head []byte
	orig Message
	at   int64
}

func (m *rebuiltMessage) Size() int64 { return int64(len(m.head)) + m.orig.Size() - m.at }

func (m *rebuiltMessage) Open() (io.ReadCloser, error) {
	rc, err := m.orig.Open()
	if err != nil {
		return nil, err
	}
	if _, err := io.CopyN(io.Discard, rc, m.at); err != nil {
		rc.Close()
		return nil, fmt.Errorf("skipping header: %w", err)
	}
	return struct {
		io.Reader
		io.Closer
	}{io.MultiReader(bytes.NewReader(m.head), rc), rc}, nil
}
