package smtp

import (
	"context"
	"errors"
	"fmt"
	"github.com/postern/postern/event"
	"io"
	"log/slog"
	"net"
	"strings"

	gosmtp "github.com/emersion/go-smtp"
)

// Data receives the message text of an SMTP transaction (DATA or BDAT) and gives
// the one reply for the whole message.
func (s *session) Data(r io.Reader) error {
	defer s.guard("data")
	env, msg, done, rerr := s.receive(r)
	if rerr != nil {
		return rerr.toLibrary()
	}
	defer done()
	if s.prepare != nil {
		if msg, rerr = s.prepare(env, msg); rerr != nil {
			s.reject("data", rerr, s.from, s.rcpts...)
			return rerr.toLibrary()
		}
	}
	if msg, rerr = s.filter(env, msg); rerr != nil {
		s.reject("data", rerr, s.from, s.rcpts...)
		return rerr.toLibrary()
	}
	if msg == nil {
		s.c.log(slog.LevelInfo, "discard", slog.String(KeyID, env.ID), slog.String(KeyFrom, env.From),
			slog.String(KeyTo, strings.Join(env.Recipients, ",")))
		return &gosmtp.SMTPError{Code: 250, EnhancedCode: gosmtp.EnhancedCode{2, 0, 0}, Message: "Ok: queued as " + env.ID}
	}
	errs := s.deliver(env, msg)
	if r := smtpReply(errs); r != nil {
		return r.toLibrary()
	}
	s.c.msgs.Add(1)
	// go-smtp writes an *SMTPError's code as given; a 250 here gives the client
	// the envelope id to quote ("queued as"), as Postfix does.
	return &gosmtp.SMTPError{Code: 250, EnhancedCode: gosmtp.EnhancedCode{2, 0, 0}, Message: "Ok: queued as " + env.ID}
}

// LMTPData receives the message text of an LMTP transaction and reports one
// status per recipient (RFC 2033 section 4.2).
func (s *session) LMTPData(r io.Reader, status gosmtp.StatusCollector) error {
	defer s.guard("data")
	env, msg, done, rerr := s.receive(r)
	if rerr != nil {
		return rerr.toLibrary() // go-smtp gives it to every recipient
	}
	defer done()
	errs := s.deliver(env, msg)
	delivered := false
	for i, raw := range s.raw {
		if errs[i] == nil {
			delivered = true
			status.SetStatus(raw, &gosmtp.SMTPError{Code: 250, EnhancedCode: gosmtp.EnhancedCode{2, 0, 0}, Message: "Ok: saved as " + env.ID})
			continue
		}
		status.SetStatus(raw, asReply(errs[i]).toLibrary())
	}
	if delivered {
		s.c.msgs.Add(1)
	}
	return nil
}

// receive reads the whole text into a spool while checking it. It returns early
// on the first broken rule: go-smtp then drains the rest of the DATA (or the
// current BDAT chunk) before replying, so the session stays in step with the
// client. done removes the spool.
// readBufSize is the size of the buffer DATA is read through.
const readBufSize = 32 << 10

func (s *session) receive(r io.Reader) (env *Envelope, msg Message, done func(), rerr *ReplyError) {
	s.c.startDotScan()
	s.c.inData.Store(true)
	defer s.c.inData.Store(false)
	s.txn++
	id := fmt.Sprintf("%s.%d", s.c.id, s.txn)
	chk := &textChecker{maxLine: s.srv.opts.MaxLineLength, maxHops: DefaultMaxHops,
		maxHeader: s.srv.opts.MaxHeaderBytes, maxFields: s.srv.opts.MaxHeaderFields}
	sp := &spool{dir: s.srv.opts.SpoolDir, threshold: s.srv.opts.SpoolThreshold}
	fail := func(r *ReplyError) (*Envelope, Message, func(), *ReplyError) {
		sp.discard()
		s.reject("data", r, s.from, s.rcpts...)
		return nil, nil, nil, r
	}

	bp, _ := s.srv.bufs.Get().(*[]byte)
	if bp == nil {
		b := make([]byte, readBufSize)
		bp = &b
	}
	defer s.srv.bufs.Put(bp)
	buf := *bp
	for {
		n, err := r.Read(buf)
		if n > 0 {
			chk.Write(buf[:n])
			if r := chk.failed(); r != nil {
				return fail(r)
			}
			if chk.size > s.srv.opts.MaxMessageBytes {
				return fail(errMessageSize)
			}
			if _, werr := sp.Write(buf[:n]); werr != nil {
				s.c.log(slog.LevelError, "spool error", slog.String(KeyReason, werr.Error()))
				return fail(errInternal)
			}
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			return fail(readReply(err))
		}
	}
	chk.finish()
	if s.info.TLS == nil && s.c.sawDotCR() {
		chk.bare = true
	}
	if r := chk.failed(); r != nil {
		return fail(r)
	}
	m, err := sp.message()
	if err != nil {
		s.c.log(slog.LevelError, "spool error", slog.String(KeyReason, err.Error()))
		return fail(errInternal)
	}
	env = &Envelope{
		ID:         id,
		Session:    &s.info,
		From:       s.from,
		Recipients: append([]string(nil), s.rcpts...),
		Body8Bit:   s.body8bit,
		SMTPUTF8:   s.utf8,
		Received:   s.srv.opts.Now(),
	}
	s.c.report(event.Received{Service: s.srv.opts.Role.Listener(), Session: s.c.id, ID: id, From: s.from,
		To: env.Recipients, Size: m.Size(), MessageID: messageID(m)})
	return env, m, sp.discard, nil
}

// readReply maps a read error during DATA/BDAT to the reply.
func readReply(err error) *ReplyError {
	var ne net.Error
	switch {
	case err == gosmtp.ErrDataTooLarge:
		return errMessageSize
	case errors.As(err, &ne) && ne.Timeout():
		return errTimeout
	}
	return errDataAborted // reset BDAT, connection lost
}

// deliver calls the Deliverer and makes sure there is one result per recipient.
func (s *session) deliver(env *Envelope, msg Message) []error {
	ctx, cancel := context.WithTimeout(context.Background(), s.srv.opts.DeliverTimeout)
	defer cancel()
	errs := s.srv.opts.Deliverer.Deliver(ctx, env, msg)
	if len(errs) != len(env.Recipients) {
		s.c.log(slog.LevelError, "deliverer returned wrong number of results",
			slog.String(KeyID, env.ID), slog.Int("got", len(errs)), slog.Int(KeyNRcpt, len(env.Recipients)))
		errs = make([]error, len(env.Recipients))
		for i := range errs {
			errs[i] = errInternal
		}
	}
	for i, err := range errs {
		if err != nil && asReply(err) == errInternal && err != errInternal {
			s.c.log(slog.LevelError, "delivery error", slog.String(KeyID, env.ID),
				slog.String(KeyTo, env.Recipients[i]), slog.String(KeyReason, err.Error()))
		}
	}
	return errs
}

// smtpReply folds per-recipient results into SMTP's single reply (see the
// Deliverer doc): nil means 250.
func smtpReply(errs []error) *ReplyError {
	var firstTemp, firstPerm *ReplyError
	delivered := 0
	for _, err := range errs {
		if err == nil {
			delivered++
			continue
		}
		r := asReply(err)
		if r.Temporary() && firstTemp == nil {
			firstTemp = r
		}
		if !r.Temporary() && firstPerm == nil {
			firstPerm = r
		}
	}
	switch {
	case firstTemp != nil:
		return firstTemp
	case delivered == 0 && firstPerm != nil:
		return firstPerm
	}
	return nil
}
