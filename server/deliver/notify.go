package deliver

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/postern/postern/sieve"
	"github.com/postern/postern/smtp"
)

// sendNotify sends an enotify mailto notification (RFC 5436) through the queue, as a
// vacation reply goes: the null sender, so nothing answers or bounces it, and
// Auto-Submitted: auto-notified. The engine already refused notifications about
// auto-submitted mail and capped the recipients (8); every header value goes through
// the fieldWriter (headers.go); From is always the user, whatever :from says, so a script cannot
// send as someone else.
//
// It is limited as vacation is: a held message notifies nobody (holdOutgoing), and the
// same notification (recipients, subject, text) about mail from the same sender goes
// out at most once per notifyPeriod, remembered in the user's vacation log, so a flood
// of one message cannot become a flood of notifications; and a user's scripts send at
// most [sieve] notify_max_per_hour notifications an hour in all (overNotifyCap), so a
// flood of different messages cannot either.
func (a *Agent) sendNotify(ctx context.Context, user string, n sieve.Notify, env *smtp.Envelope, msg smtp.Message) error {
	hdr, err := readHeader(msg)
	if err != nil {
		return err
	}
	rcpts := append(append([]string(nil), n.To...), n.Cc...)
	body := a.composeNotify(user, n, env.From, hdr.Get("Subject"))
	handle, sender := notifyHandle(n, hdr.Get("Subject")), env.From
	if sender == "" {
		sender = "<>"
	}
	if sent, err := a.store.VacationReplied(ctx, user, handle, sender, notifyPeriod); err != nil {
		return err
	} else if sent {
		a.log.Info("sieve notification not sent: the same one went out within a day", smtp.KeySession, env.Session.ID,
			"id", env.ID, "user", user, "to", strings.Join(rcpts, ","), "sender", sanitizeField(sender))
		return nil
	}
	if over, err := a.overNotifyCap(ctx, user); err != nil {
		return err
	} else if over {
		a.log.Warn("sieve notification not sent: the user's hourly cap is reached", smtp.KeySession, env.Session.ID,
			"id", env.ID, "user", user, "to", strings.Join(rcpts, ","), "cap", a.notifyCap)
		return nil
	}
	if err := a.send(ctx, "", rcpts, body, "notify:"+env.ID, env.Session.ID); err != nil {
		return err
	}
	return a.store.RecordVacation(ctx, user, handle, sender, vacationMaxAge)
}

// overNotifyCap says whether user's scripts sent notify_max_per_hour notifications in
// the last hour (counted in the vacation log, where each one is recorded).
func (a *Agent) overNotifyCap(ctx context.Context, user string) (bool, error) {
	if a.notifyCap <= 0 {
		return false, nil
	}
	n, err := a.store.VacationSentSince(ctx, user, notifyHandlePrefix, a.now().Add(-time.Hour))
	return n >= a.notifyCap, err
}

// notifyHandlePrefix starts every notification's handle in the vacation log.
const notifyHandlePrefix = "notify:"

// notifyPeriod is how long the same notification about the same sender is not sent
// again: vacation's shortest :days (Pigeonhole's sieve_vacation_min_period).
const notifyPeriod = 24 * time.Hour

// notifyHandle names a notification in the vacation log by what its reader sees: the
// recipients, the subject and the text (the defaults filled in from origSubject).
func notifyHandle(n sieve.Notify, origSubject string) string {
	h := sha256.New()
	for _, part := range [][]string{n.To, n.Cc, {n.Subject, n.Body, strconv.Itoa(n.Importance)}} {
		for _, v := range part {
			h.Write([]byte(strings.ToLower(v)))
			h.Write([]byte{0})
		}
		h.Write([]byte{1})
	}
	if n.Subject == "" || n.Body == "" {
		h.Write([]byte(origSubject))
	}
	return notifyHandlePrefix + hex.EncodeToString(h.Sum(nil)[:12])
}

func (a *Agent) composeNotify(user string, n sieve.Notify, sender, origSubject string) []byte {
	var w fieldWriter
	subject := n.Subject
	if subject == "" {
		subject = "[Sieve] New mail: " + origSubject
	}
	w.field("From", user)
	w.field("To", strings.Join(n.To, ", "))
	w.field("Cc", strings.Join(n.Cc, ", "))
	w.text("Subject", subject)
	w.field("Date", a.now().Format(time.RFC1123Z))
	w.field("Message-ID", "<"+randomID()+"@"+a.hostname+">")
	w.field("Auto-Submitted", "auto-notified")
	switch n.Importance {
	case 1:
		w.field("X-Priority", "1 (Highest)")
	case 3:
		w.field("X-Priority", "5 (Lowest)")
	}
	w.field("MIME-Version", "1.0")
	w.field("Content-Type", "text/plain; charset=utf-8")
	w.field("Content-Transfer-Encoding", "8bit")
	b := bytes.NewBuffer(w.Bytes())
	b.WriteString("\r\n")
	body := n.Body
	if body == "" {
		body = fmt.Sprintf("New mail for %s from %s: %s", user, sender, origSubject)
	}
	b.WriteString(strings.ReplaceAll(strings.ReplaceAll(body, "\r\n", "\n"), "\n", "\r\n"))
	b.WriteString("\r\n")
	return b.Bytes()
}
