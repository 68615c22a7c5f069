package imap

import (
	"bufio"
	"io"
	"strings"

	gomessage "github.com/emersion/go-message"
	"github.com/emersion/go-message/mail"
	"github.com/emersion/go-message/textproto"

	"github.com/postern/postern/mimeparse"
)

// maxSearchText caps how much decoded text of one message SEARCH BODY/TEXT looks at.
const maxSearchText = 4 << 20

// parse reads the message once, through mimeparse's bounded pass: its header and the
// decoded text of its text/* parts, nested messages included (charset and transfer
// encoding undone), and the raw text of parts flattened at a limit; at most
// maxSearchText of it.
func (mc *matchCtx) parse() {
	if mc.parsed {
		return
	}
	mc.parsed = true
	file, r, err := mc.f.open(mc.m)
	if err != nil {
		mc.broken = true
		return
	}
	defer file.Close()
	root, err := mimeparse.Parse(r, mimeparse.DefaultLimits())
	if err != nil {
		mc.broken = true
		return
	}
	mc.mhdr = &root.Header
	mc.header = mail.Header{Header: gomessage.Header{Header: goHeader(&root.Header)}}
	var body strings.Builder
	root.Leaves(func(q *mimeparse.Part) bool {
		if body.Len() > maxSearchText {
			return false
		}
		// A part flattened at a limit is searched as it is written: its text is still
		// the message's.
		if q.Type == "text" || q.Flattened {
			_, _ = io.Copy(&body, io.LimitReader(mimeparse.Decode(q, q.Body(file)), int64(maxSearchText-body.Len()+1)))
			body.WriteByte('\n')
		}
		return true
	})
	mc.bodyT = body.String()
	var hdr strings.Builder
	fields := mc.header.Fields()
	for fields.Next() {
		v, err := fields.Text()
		if err != nil {
			v = fields.Value()
		}
		hdr.WriteString(fields.Key() + ": " + v + "\n")
	}
	mc.fullT = hdr.String() + mc.bodyT
}

// goHeader turns mimeparse's kept fields into a go-message header (what SORT and
// THREAD read), in message order.
func goHeader(h *mimeparse.Header) textproto.Header {
	var b strings.Builder
	for _, f := range h.Fields {
		b.WriteString(f.Name + ": " + f.Value + "\r\n")
	}
	b.WriteString("\r\n")
	th, _ := textproto.ReadHeader(bufio.NewReader(strings.NewReader(b.String())))
	return th
}
