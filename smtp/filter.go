package smtp

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"strings"

	"github.com/postern/postern/smtp/senderauth"
)

// Filter inspects a message from an untrusted client of the MX role after its
// text passed the session's checks and before delivery: sender authentication
// (SPF, DKIM, DMARC), a milter. It returns the message to deliver (the same
// one, or one rewritten with EditHeader), and may set env.Quarantine. An error
// refuses the message: a *ReplyError is sent as it is (550 5.7.1 for a DMARC
// reject, 451 4.7.0 for a DNS failure), any other error becomes 451 4.3.0.
//
// Filters run in Options.Filters order; trusted clients, authenticated users
// and the LMTP and submission roles skip them.
type Filter interface {
	Filter(ctx context.Context, env *Envelope, msg Message) (Message, error)
}

// ErrDiscard, returned by a Filter, accepts the message without delivering it
// (a milter's discard verdict): the client is answered 250 as usual, so it
// learns nothing, and a "discard" line is logged.
var ErrDiscard = errors.New("smtp: message discarded by a filter")

// filter runs the Options.Filters over a received message. A nil message
// with a nil reply means a filter discarded it.
func (s *session) filter(env *Envelope, msg Message) (Message, *ReplyError) {
	if s.srv.opts.Role != RoleLMTP {
		out, err := StripForgedAuthResults(msg, s.srv.opts.Hostname)
		if err != nil {
			s.c.log(slog.LevelError, "filter error", slog.String(KeyID, env.ID), slog.String(KeyReason, err.Error()))
			return nil, errInternal
		}
		msg = out
	}
	if s.srv.opts.Role != RoleMX || s.info.Trusted || s.info.User != "" || len(s.srv.opts.Filters) == 0 {
		return msg, nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), s.srv.opts.DeliverTimeout)
	defer cancel()
	for _, f := range s.srv.opts.Filters {
		out, err := f.Filter(ctx, env, msg)
		if errors.Is(err, ErrDiscard) {
			return nil, nil
		}
		if err != nil {
			r := asReply(err)
			if r == errInternal {
				s.c.log(slog.LevelError, "filter error", slog.String(KeyID, env.ID), slog.String(KeyReason, err.Error()))
			}
			return nil, r
		}
		msg = out
	}
	return msg, nil
}

// EditHeader returns msg with prepend (complete header fields, CRLF-terminated)
// put before its first line, and every header field for which drop returns
// true removed (the name as written, the value unfolded and trimmed). At most
// maxHeader octets of header are examined; fields after that are kept. The
// message text is not copied: the result reads msg again when opened.
func EditHeader(msg Message, prepend string, drop func(name, value string) bool, maxHeader int64) (Message, error) {
	var cuts []span
	if drop != nil {
		rc, err := msg.Open()
		if err != nil {
			return nil, err
		}
		cuts, err = headerCuts(rc, maxHeader, drop)
		rc.Close()
		if err != nil {
			return nil, err
		}
	}
	if len(cuts) == 0 && prepend == "" {
		return msg, nil
	}
	size := msg.Size() + int64(len(prepend))
	for _, c := range cuts {
		size -= c.end - c.start
	}
	return &editedMessage{orig: msg, prepend: prepend, cuts: cuts, size: size}, nil
}

// StripForgedAuthResults removes every Authentication-Results field that names
// hostname as its authserv-id, wherever it stands in the header (the whole
// header is read, however long): RFC 8601 section 5 has a receiver remove such
// fields arriving from outside, since only we may speak for our name. It runs
// for every message of the MX and submission roles, whoever the client and
// whichever checks are on; LMTP is left alone (a local MTA in front of us may
// have written them). A message with nothing to remove is returned as it is.
func StripForgedAuthResults(msg Message, hostname string) (Message, error) {
	if b, ok := msg.(BytesMessage); ok && !headerHasField(b, senderauth.HeaderName) {
		return msg, nil // the common case, checked without a read or an allocation
	}
	forged := func(name, value string) bool {
		return strings.EqualFold(name, senderauth.HeaderName) && senderauth.ClaimsAuthServID(value, hostname)
	}
	return EditHeader(msg, "", forged, msg.Size())
}

// headerHasField reports whether a line of b's header block starts with name and a
// colon (white space allowed before it), ignoring case.
func headerHasField(b []byte, name string) bool {
	for len(b) > 0 {
		line := b
		if i := bytes.IndexByte(b, '\n'); i >= 0 {
			line, b = b[:i+1], b[i+1:]
		} else {
			b = nil
		}
		if len(line) <= 2 && (len(line) == 1 || line[0] == '\r') {
			return false // the blank line: end of the header
		}
		if len(line) > len(name) && strings.EqualFold(string(line[:len(name)]), name) {
			rest := bytes.TrimLeft(line[len(name):], " \t")
			if len(rest) > 0 && rest[0] == ':' {
				return true
			}
		}
	}
	return false
}

// span is a byte range [start, end) of a message.
type span struct{ start, end int64 }

// headerCuts finds the byte ranges of the header fields drop selects,
// continuation lines included. It is lenient, like a mail reader: a line that
// is neither a field nor a continuation is kept and does not end the header.
func headerCuts(r io.Reader, max int64, drop func(name, value string) bool) ([]span, error) {
	br := bufio.NewReader(io.LimitReader(r, max))
	var cuts []span
	var off int64
	var cur *span // the field being read
	var name, value string
	finish := func() {
		if cur != nil && drop(name, strings.TrimSpace(value)) {
			if n := len(cuts); n > 0 && cuts[n-1].end == cur.start {
				cuts[n-1].end = cur.end // adjacent fields make one cut
			} else {
				cuts = append(cuts, *cur)
			}
		}
		cur = nil
	}
	for {
		line, err := br.ReadString('\n')
		if err != nil && err != io.EOF {
			return nil, err
		}
		if err == io.EOF && !strings.HasSuffix(line, "\n") {
			// The limit or the end of the message cut a line short: only whole
			// fields are removed.
			return cuts, nil
		}
		start := off
		off += int64(len(line))
		text := strings.TrimRight(line, "\r\n")
		switch {
		case text == "":
			finish()
			return cuts, nil
		case text[0] == ' ' || text[0] == '\t':
			if cur != nil {
				cur.end = off
				value += text
			}
		default:
			finish()
			// White space before the colon is RFC 5322 section 4.5.8's obsolete
			// syntax, which readers still accept.
			if n, v, ok := strings.Cut(text, ":"); ok && n != "" && !strings.ContainsAny(strings.TrimRight(n, " \t"), " \t") {
				n = strings.TrimRight(n, " \t")
				cur = &span{start, off}
				name, value = n, v
			}
		}
	}
}

// editedMessage is a Message with text put in front and header ranges cut.
type editedMessage struct {
	orig    Message
	prepend string
	cuts    []span
	size    int64
}

func (m *editedMessage) Size() int64 { return m.size }

func (m *editedMessage) Open() (io.ReadCloser, error) {
	rc, err := m.orig.Open()
	if err != nil {
		return nil, err
	}
	readers := []io.Reader{strings.NewReader(m.prepend)}
	var pos int64
	for _, c := range m.cuts {
		readers = append(readers, io.LimitReader(rc, c.start-pos), skipReader{rc, c.end - c.start})
		pos = c.end
	}
	readers = append(readers, rc)
	return struct {
		io.Reader
		io.Closer
	}{io.MultiReader(readers...), rc}, nil
}

// skipReader discards n octets of r the first time it is read, then reports
// EOF, so that io.MultiReader moves on to the next part.
type skipReader struct {
	r io.Reader
	n int64
}

func (s skipReader) Read([]byte) (int, error) {
	if _, err := io.CopyN(io.Discard, s.r, s.n); err != nil {
		return 0, err
	}
	return 0, io.EOF
}
