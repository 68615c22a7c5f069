package deliver

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/mail"
	"strings"
	"time"

	"github.com/postern/postern/sieve"
	"github.com/postern/postern/smtp"
	"github.com/postern/postern/smtp/queue"
	"github.com/postern/postern/store"
)

// vacationMaxAge bounds how long vacation log entries are kept; no script can usefully
// ask for a longer :days period.
const vacationMaxAge = 365 * 24 * time.Hour

// What Sieve sends, redirected copies and vacation replies, goes through the same
// delivery path as everything else (local recipients at once, others through the queue),
// so it is durable before the original message is acknowledged.

// userVacationLog is the engine's view of one user's vacation log.
type userVacationLog struct {
	store *store.Store
	user  string
}

func (l userVacationLog) Replied(ctx context.Context, handle, sender string, period time.Duration) (bool, error) {
	return l.store.VacationReplied(ctx, l.user, handle, sender, period)
}

// redirect forwards a copy of msg to each address. Loop protection: the copy carries
// "Delivered-To: user", and a message that already names this user or a target in
// Delivered-To has been around once, so it is not redirected again (the caller keeps it). The envelope sender is
// SRS-rewritten so that the destination's SPF check passes for our relay.
func (a *Agent) redirect(ctx context.Context, env *smtp.Envelope, user string, to []string, msg smtp.Message) error {
	hdr, err := readHeader(msg)
	if err != nil {
		return err
	}
	for _, d := range hdr["Delivered-To"] {
		d = strings.TrimSpace(d)
		for _, addr := range append([]string{user}, to...) {
			if strings.EqualFold(d, addr) {
				return fmt.Errorf("mail loop: the message was already delivered to %s", addr)
			}
		}
	}
	body, err := msg.Open()
	if err != nil {
		return err
	}
	defer body.Close()
	var b bytes.Buffer
	fmt.Fprintf(&b, "Delivered-To: %s\r\n", user)
	if _, err := io.Copy(&b, body); err != nil {
		return err
	}
	from := env.From
	_, domain := store.SplitAddress(user)
	if a.srs != nil {
		from = a.srs.Forward(env.From, domain)
	}
	return a.send(ctx, from, to, b.Bytes(), "redirect:"+env.ID, env.Session.ID)
}

// vacation sends the auto-reply (RFC 5230, RFC 3834) with the null sender, so that it
// can never be answered by another auto-reply or bounce back, and records it in the
// user's vacation log. Its From is one of the user's own addresses: a :from that is not
// (possible only through variables; a constant one is refused at upload) is replaced by
// the user's address, and the log says so.
func (a *Agent) vacation(ctx context.Context, user string, v *sieve.Vacation, env *smtp.Envelope, msg smtp.Message) error {
	hdr, err := readHeader(msg)
	if err != nil {
		return err
	}
	from := a.vacationFrom(ctx, env, user, v.From)
	reply := a.composeVacation(v, from, hdr)
	if err := a.send(ctx, "", []string{v.To}, reply, "vacation:"+env.ID, env.Session.ID); err != nil {
		return err
	}
	return a.store.RecordVacation(ctx, user, v.Handle, v.To, max(vacationMaxAge, v.Period))
}

// vacationFrom is the From of user's vacation reply: the script's :from when it is one
// of the user's addresses (MaySend), else the user's own address.
func (a *Agent) vacationFrom(ctx context.Context, env *smtp.Envelope, user, from string) string {
	if from == "" || from == user {
		return user
	}
	ok, err := a.recipients.maySend(ctx, user, from)
	if ok && err == nil {
		return from
	}
	a.log.Warn("vacation :from is not the user's address; replying from the user's own address", smtp.KeySession, env.Session.ID,
		"id", env.ID, "user", user, "from", sanitizeField(from), "err", err)
	return user
}

func (a *Agent) composeVacation(v *sieve.Vacation, from string, orig mail.Header) []byte {
	var w fieldWriter
	w.field("From", from)
	w.field("To", v.To)
	w.text("Subject", v.Subject)
	w.field("Date", a.now().Format(time.RFC1123Z))
	w.field("Message-ID", "<"+randomID()+"@"+a.hostname+">")
	if id := strings.TrimSpace(orig.Get("Message-Id")); id != "" {
		w.field("In-Reply-To", id)
		w.field("References", strings.Join(strings.Fields(orig.Get("References")+" "+id), " "))
	}
	w.field("Auto-Submitted", "auto-replied (vacation)")
	w.field("MIME-Version", "1.0")
	b := bytes.NewBuffer(w.Bytes())
	reason := strings.ReplaceAll(strings.ReplaceAll(v.Reason, "\r\n", "\n"), "\n", "\r\n")
	if v.MIME {
		// :mime: the reason is a MIME entity, its own headers first.
		b.WriteString(reason)
		return b.Bytes()
	}
	b.WriteString("Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n")
	b.WriteString(reason)
	if !strings.HasSuffix(reason, "\r\n") {
		b.WriteString("\r\n")
	}
	return b.Bytes()
}

// readHeader parses the header of a message (bounded: at most 256 KiB is read).
func readHeader(msg smtp.Message) (mail.Header, error) {
	body, err := msg.Open()
	if err != nil {
		return nil, err
	}
	defer body.Close()
	m, err := mail.ReadMessage(bufio.NewReader(io.LimitReader(body, 256<<10)))
	if err != nil {
		return mail.Header{}, nil // no parsable header: nothing to loop-check or reply to
	}
	return m.Header, nil
}

func randomID() string {
	var b [12]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// send delivers a message the server itself makes (a bounce, a vacation reply, a
// redirect) to rcpts: local ones through local delivery, the rest through the queue.
// origin names it ("redirect:ID"); parent, when not "", is the session of the message
// that caused it, so that its log lines (the queue entry, its attempts) are part of that
// message's trace story.
func (a *Agent) send(ctx context.Context, from string, rcpts []string, msg []byte, origin, parent string) error {
	sid := origin
	if parent != "" {
		sid = parent
	}
	env := &smtp.Envelope{
		ID:         origin,
		Session:    &smtp.Session{ID: sid, Role: smtp.RoleMX, Trusted: true, HELO: "localhost", Hostname: a.hostname, Start: a.now()},
		From:       from,
		Recipients: rcpts,
		Received:   a.now(),
	}
	errs := a.Deliver(ctx, env, smtp.BytesMessage(msg))
	return errors.Join(errs...)
}

// ReturnToSender delivers a DSN of the outbound queue (outbound.Bouncer), always with the
// null sender so that a bounce never bounces.
func (a *Agent) ReturnToSender(ctx context.Context, bn *queue.Bounce) error {
	return a.send(ctx, "", []string{bn.To}, bn.Message, "bounce:"+bn.QueueID, "")
}
