package deliver

import (
	"bytes"
	"context"
	"fmt"
	"mime"
	"strings"
	"time"

	"github.com/postern/postern/sieve"
	"github.com/postern/postern/smtp"
)

// sendNotify sends an enotify mailto notification (RFC 5436) through the queue, as a
// vacation reply goes: the null sender, so nothing answers or bounces it, and
// Auto-Submitted: auto-notified. The engine already refused notifications about
// auto-submitted mail, capped the recipients (8) and stripped CR, LF and NUL from the
// header values; From is always the user, whatever :from says, so a script cannot
// send as someone else.
func (a *Agent) sendNotify(ctx context.Context, user string, n sieve.Notify, env *smtp.Envelope, msg smtp.Message) error {
	hdr, err := readHeader(msg)
	if err != nil {
		return err
	}
	rcpts := append(append([]string(nil), n.To...), n.Cc...)
	return a.send(ctx, "", rcpts, a.composeNotify(user, n, env.From, hdr.Get("Subject")), "notify:"+env.ID)
}

func (a *Agent) composeNotify(user string, n sieve.Notify, sender, origSubject string) []byte {
	var b bytes.Buffer
	w := func(k, val string) {
		if val = oneLineHeader(val); val != "" {
			fmt.Fprintf(&b, "%s: %s\r\n", k, val)
		}
	}
	subject := n.Subject
	if subject == "" {
		subject = "[Sieve] New mail: " + origSubject
	}
	w("From", user)
	w("To", strings.Join(n.To, ", "))
	w("Cc", strings.Join(n.Cc, ", "))
	w("Subject", mime.QEncoding.Encode("utf-8", oneLineHeader(subject)))
	w("Date", a.now().Format(time.RFC1123Z))
	w("Message-ID", "<"+randomID()+"@"+a.hostname+">")
	w("Auto-Submitted", "auto-notified")
	switch n.Importance {
	case 1:
		w("X-Priority", "1 (Highest)")
	case 3:
		w("X-Priority", "5 (Lowest)")
	}
	w("MIME-Version", "1.0")
	w("Content-Type", "text/plain; charset=utf-8")
	w("Content-Transfer-Encoding", "8bit")
	b.WriteString("\r\n")
	body := n.Body
	if body == "" {
		body = fmt.Sprintf("New mail for %s from %s: %s", user, sender, origSubject)
	}
	b.WriteString(strings.ReplaceAll(strings.ReplaceAll(body, "\r\n", "\n"), "\n", "\r\n"))
	b.WriteString("\r\n")
	return b.Bytes()
}

// oneLineHeader keeps a header value on one line: CR, LF and NUL become spaces.
func oneLineHeader(s string) string {
	return strings.TrimSpace(strings.Map(func(r rune) rune {
		if r == '\r' || r == '\n' || r == 0 {
			return ' '
		}
		return r
	}, s))
}
