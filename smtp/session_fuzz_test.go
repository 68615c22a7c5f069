package smtp

import (
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// unstuff removes the transparency dot of each line (RFC 5321 section 4.5.2).
func unstuff(text string) string {
	lines := strings.SplitAfter(text, "\r\n")
	for i, l := range lines {
		lines[i] = strings.TrimPrefix(l, ".")
	}
	return strings.Join(lines, "")
}

// FuzzDataSession sends hostile message text through a real session: the text
// ends at the first CRLF "." CRLF only, at most one message is delivered per
// DATA, whatever is delivered has CRLF line ends only and lines within the
// limit, and the session answers QUIT afterwards (it stayed in step).
func FuzzDataSession(f *testing.F) {
	e := start(f, func(o *Options) { o.MaxLineLength = 80 })
	for _, s := range []string{"hello", "a\n.\nMAIL FROM:<x@y.z>", "a\r.\rb", "a\n.\r\nb", "\r\n.\rX", "..x\r\n.y", strings.Repeat("z", 90)} {
		f.Add(s)
	}
	var seq atomic.Int64
	f.Fuzz(func(t *testing.T, body string) {
		wire := "\r\n" + body + "\r\n.\r\n"
		if strings.Index(wire, "\r\n.\r\n") != len(body)+2 {
			t.Skip("the text contains its own end marker")
		}
		from := fmt.Sprintf("fuzz%d@example.org", seq.Add(1))
		c := e.dial(t)
		c.conn.SetDeadline(time.Now().Add(5 * time.Second))
		c.greet("mail.example.org")
		c.cmd("MAIL FROM:<"+from+">", "250")
		c.cmd("RCPT TO:<alice@example.test>", "250")
		c.cmd("DATA", "354")
		// go-smtp misses an end marker right after a bare CR ("\r\r\n.\r\n"); the
		// text then runs on to the second marker, and must be refused.
		c.send(body + "\r\n.\r\nQUIT\r\n\r\n.\r\nQUIT\r\n")
		code, text := c.reply()
		c.expect("221")
		var got []delivered
		for _, d := range e.deliv.got() {
			if d.env.From == from {
				got = append(got, d)
			}
		}
		switch {
		case code == 250 && len(got) == 1:
			if bare, long := refCheck([]byte(got[0].body), 80); bare || long {
				t.Fatalf("delivered text breaks the rules: %q", got[0].body)
			}
			if want := unstuff(body + "\r\n"); got[0].body != want {
				t.Fatalf("delivered %q, want %q", got[0].body, want)
			}
		case code == 554 && len(got) == 0:
		default:
			t.Fatalf("reply %q with %d deliveries", text, len(got))
		}
	})
}
