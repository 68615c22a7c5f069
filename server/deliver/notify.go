package deliver

import (
	"bytes"
	"context"
	"fmt"
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
func (a *Agent) sendNotify(ctx context.Context, user string, n sieve.Notify, env *smtp.Envelope, msg smtp.Message) error {
	hdr, err := readHeader(msg)
	if err != nil {
		return err
	}
	rcpts := append(append([]string(nil), n.To...), n.Cc...)
	return a.send(ctx, "", rcpts, a.composeNotify(user, n, env.From, hdr.Get("Subject")), "notify:"+env.ID, env.Session.ID)
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
