package server

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"mime"
	"net/mail"
	"strings"
	"time"

	"github.com/postern/postern/sieve"
	"github.com/postern/postern/smtp"
	"github.com/postern/postern/store"
)

// vacationMaxAge bounds how long vacation log entries are kept; no script can usefully
// ask for a longer :days period.
const vacationMaxAge = 365 * 24 * time.Hour

// sieveOut carries out what Sieve sends: redirected copies and vacation replies, through
// the same delivery path as everything else (local recipients at once, others through the
// queue), so they are durable before the original message is acknowledged.
type sieveOut struct {
	agent    *deliveryAgent
	hostname string
}

// userVacationLog is the engine's view of one user's vacation log.
type userVacationLog struct {
	store *store.Store
	user  string
}

func (l userVacationLog) Replied(ctx context.Context, handle, sender string, period time.Duration) (bool, error) {
	return l.store.VacationReplied(ctx, l.user, handle, sender, period)
}

// Redirect forwards a copy of msg to each address. Loop protection: the copy carries
// "Delivered-To: user", and a message that already names this user or a target in
// Delivered-To has been around once, so it is not redirected again (the caller keeps it). The envelope sender is
// SRS-rewritten so that the destination's SPF check passes for our relay.
func (o *sieveOut) Redirect(ctx context.Context, env *smtp.Envelope, user string, to []string, msg smtp.Message) error {
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
	if o.agent.srs != nil {
		from = o.agent.srs.Forward(env.From, domain)
	}
	return o.agent.send(ctx, from, to, b.Bytes(), "redirect:"+env.ID)
}

// Vacation sends the auto-reply (RFC 5230, RFC 3834) with the null sender, so that it
// can never be answered by another auto-reply or bounce back, and records it in the
// user's vacation log.
func (o *sieveOut) Vacation(ctx context.Context, user string, v *sieve.Vacation, env *smtp.Envelope, msg smtp.Message) error {
	hdr, err := readHeader(msg)
	if err != nil {
		return err
	}
	reply := o.composeVacation(v, hdr)
	if err := o.agent.send(ctx, "", []string{v.To}, reply, "vacation:"+env.ID); err != nil {
		return err
	}
	return o.agent.store.RecordVacation(ctx, user, v.Handle, v.To, max(vacationMaxAge, v.Period))
}

func (o *sieveOut) composeVacation(v *sieve.Vacation, orig mail.Header) []byte {
	var b bytes.Buffer
	w := func(k, val string) {
		if val != "" {
			fmt.Fprintf(&b, "%s: %s\r\n", k, val)
		}
	}
	w("From", v.From)
	w("To", v.To)
	w("Subject", mime.QEncoding.Encode("utf-8", v.Subject))
	w("Date", time.Now().Format(time.RFC1123Z))
	w("Message-ID", "<"+randomID()+"@"+o.hostname+">")
	if id := strings.TrimSpace(orig.Get("Message-Id")); id != "" {
		w("In-Reply-To", id)
		w("References", strings.TrimSpace(strings.Join(strings.Fields(orig.Get("References")+" "+id), " ")))
	}
	w("Auto-Submitted", "auto-replied (vacation)")
	w("MIME-Version", "1.0")
	reason := strings.ReplaceAll(strings.ReplaceAll(v.Reason, "\r\n", "\n"), "\n", "\r\n")
	if v.MIME {
		// :mime: the reason is a MIME entity, its own headers first.
		b.WriteString(reason)
		return b.Bytes()
	}
	w("Content-Type", "text/plain; charset=utf-8")
	w("Content-Transfer-Encoding", "8bit")
	b.WriteString("\r\n")
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
