package smtp

import (
	"context"
	"crypto/rand"
	"encoding/base32"
	"errors"
	"io"
	"log/slog"
	"mime"
	"net/mail"
	"strings"

	gosmtp "github.com/emersion/go-smtp"
)

// SenderPolicy says which sender addresses an authenticated user may use.
// server/ implements it from the user's addresses and aliases.
type SenderPolicy interface {
	// MaySend reports whether user may use address as a sender. address is
	// normalised (domain lower-cased). An error that is a *ReplyError is sent
	// as the reply; any other error becomes 451 4.3.0.
	MaySend(ctx context.Context, user, address string) (bool, error)
}

// The submission replies.
var (
	errNullSender   = &ReplyError{553, [3]int{5, 7, 1}, "<>: Sender address rejected: null sender not allowed on submission"}
	errHeaderSyntax = &ReplyError{554, [3]int{5, 6, 0}, "Error: malformed message header"}
	errFromSyntax   = &ReplyError{554, [3]int{5, 6, 0}, "Error: malformed From: header"}
	errSenderSyntax = &ReplyError{554, [3]int{5, 6, 0}, "Error: malformed Sender: header"}
)

const (
	errNotOwnedFmt   = "<%s>: Sender address rejected: not owned by user <%s>"
	headerDateLayout = "Mon, 2 Jan 2006 15:04:05 -0700" // RFC 5322 section 3.3
)

// submissionSession is a session on the submission roles (RFC 6409): the
// protocol is the MX session's, plus AUTH, the rule that only an authenticated
// user may send, and only as one of their own addresses, and the header fixes
// of RFC 6409 section 8.
type submissionSession struct {
	*session
}

// newSubmissionSession wraps s; its Data calls prepare before delivery.
func newSubmissionSession(s *session) *submissionSession {
	sub := &submissionSession{session: s}
	s.prepare = sub.prepare
	return sub
}

// Mail requires AUTH, then checks that the user owns the reverse-path. The
// null sender <> is refused: it is for bounces (RFC 5321 section 4.5.5),
// which a user's client never sends.
func (s *submissionSession) Mail(from string, opts *gosmtp.MailOptions) error {
	defer s.guard("mail")
	if s.info.User == "" {
		r := errAuthRequired
		if s.info.TLS == nil {
			r = errAuthTLSFirst
		}
		s.reject("mail", r, from)
		return r.toLibrary()
	}
	if err := s.session.Mail(from, opts); err != nil {
		return err
	}
	r := errNullSender
	if s.from != "" {
		r = s.mayUse(s.from)
	}
	if r != nil {
		s.reject("mail", r, s.from)
		s.resetTxn()
		return r.toLibrary()
	}
	return nil
}

// mayUse asks the SenderPolicy whether the user owns addr; nil means yes.
func (s *submissionSession) mayUse(addr string) *ReplyError {
	ctx, cancel := context.WithTimeout(context.Background(), s.srv.opts.CommandTimeout)
	defer cancel()
	ok, err := s.srv.opts.SenderPolicy.MaySend(ctx, s.info.User, addr)
	if err != nil {
		r := asReply(err)
		if r == errInternal {
			s.c.log(slog.LevelError, "sender policy error", slog.String(KeyUser, s.info.User),
				slog.String(KeyFrom, addr), slog.String(KeyReason, err.Error()))
		}
		return r
	}
	if !ok {
		return Reply(553, [3]int{5, 7, 1}, errNotOwnedFmt, printable(addr), printable(s.info.User))
	}
	return nil
}

// prepare checks the header of a submitted message and fixes it (RFC 6409
// section 8): every address in From: and Sender: must be the user's; a missing
// From: (required by RFC 5322 section 3.6) becomes the user's address, a
// missing Date: the time the text was received (section 8.2), a missing
// Message-ID: a new unique one (section 8.3). The fields are added at the end
// of the header; the Deliverer gets the fixed message.
func (s *submissionSession) prepare(env *Envelope, msg Message) (Message, *ReplyError) {
	rc, err := msg.Open()
	if err != nil {
		s.c.log(slog.LevelError, "spool error", slog.String(KeyReason, err.Error()))
		return nil, errInternal
	}
	h, err := parseHeader(rc, s.srv.opts.MaxHeaderBytes)
	rc.Close()
	switch {
	case errors.Is(err, errHeaderTooBig):
		return nil, headerTooBig(s.srv.opts.MaxHeaderBytes, s.srv.opts.MaxHeaderFields)
	case errors.Is(err, errHeaderMalformed):
		return nil, errHeaderSyntax
	case err != nil:
		s.c.log(slog.LevelError, "spool error", slog.String(KeyReason, err.Error()))
		return nil, errInternal
	}
	froms := h.get("From")
	if r := s.checkHeaderSenders(froms, errFromSyntax); r != nil {
		return nil, r
	}
	if r := s.checkHeaderSenders(h.get("Sender"), errSenderSyntax); r != nil {
		return nil, r
	}
	var add strings.Builder
	if len(froms) == 0 {
		add.WriteString("From: <" + s.info.User + ">\r\n")
	}
	if len(h.get("Date")) == 0 {
		add.WriteString("Date: " + env.Received.Format(headerDateLayout) + "\r\n")
	}
	if len(h.get("Message-ID")) == 0 {
		add.WriteString("Message-ID: " + newMessageID(s.srv.opts.Hostname) + "\r\n")
	}
	if add.Len() == 0 {
		return msg, nil
	}
	return &insertedMessage{orig: msg, at: h.End, text: add.String()}, nil
}

// checkHeaderSenders checks every address of every given From: or Sender:
// field. A field with no parseable address is malformed.
func (s *submissionSession) checkHeaderSenders(values []string, malformed *ReplyError) *ReplyError {
	for _, v := range values {
		addrs, err := headerAddresses(v)
		if err != nil {
			return malformed
		}
		for _, a := range addrs {
			if r := s.mayUse(a); r != nil {
				return r
			}
		}
	}
	return nil
}

// headerAddresses returns the normalised addresses of a From:/Sender: value
// (RFC 5322 section 3.4), at least one, or an error. Display names do not
// matter here: an encoded word in an unknown charset is left as it is instead
// of failing the whole field.
func headerAddresses(value string) ([]string, error) {
	p := mail.AddressParser{WordDecoder: &mime.WordDecoder{
		CharsetReader: func(_ string, r io.Reader) (io.Reader, error) { return r, nil },
	}}
	list, err := p.ParseList(value)
	if err != nil {
		return nil, err
	}
	if len(list) == 0 {
		return nil, errHeaderMalformed
	}
	out := make([]string, 0, len(list))
	for _, a := range list {
		addr, err := ParseAddress(a.Address, true)
		if err != nil {
			return nil, err
		}
		out = append(out, addr.String())
	}
	return out, nil
}

// newMessageID returns a new "<random@hostname>" (RFC 5322 section 3.6.4); 128
// random bits make it unique without any state.
func newMessageID(hostname string) string {
	var b [16]byte
	rand.Read(b[:])
	id := strings.ToLower(base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(b[:]))
	return "<" + id + "@" + hostname + ">"
}
