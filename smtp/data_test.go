package smtp

import (
	"fmt"
	"strings"
	"testing"
)

func TestSizeLimitThenNextMessage(t *testing.T) {
	t.Parallel()
	e := start(t, func(o *Options) { o.MaxMessageBytes = 1000; o.SpoolThreshold = 100 })
	c := e.dial(t)
	c.greet("mail.example.org")
	c.cmd("MAIL FROM:<bob@example.org> SIZE=5000", "552 5.3.4")
	c.cmd("MAIL FROM:<bob@example.org>", "250")
	c.cmd("RCPT TO:<alice@example.test>", "250")
	c.cmd("DATA", "354")
	c.send(msg(strings.Repeat("x", 70)+"\r\n") + strings.Repeat(strings.Repeat("y", 70)+"\r\n", 30) + ".\r\n")
	c.expect("552 5.3.4")
	// Same session: the next message is accepted (and spooled to a file).
	big := msg(strings.Repeat(strings.Repeat("z", 70)+"\r\n", 10))
	c.cmd("MAIL FROM:<bob@example.org>", "250")
	c.cmd("RCPT TO:<alice@example.test>", "250")
	c.cmd("DATA", "354")
	c.send(big + ".\r\n")
	c.expect("250 2.0.0")
	got := e.deliv.got()
	if len(got) != 1 || got[0].body != big {
		t.Fatalf("delivered %d messages: %+v", len(got), got)
	}
	r := e.logs.wait(t, func(r logRec) bool { return r.msg == "reject" && r.attrs[KeyStage] == "data" })
	if r.attrs[KeyCode] != "552" || r.attrs[KeyTo] != "alice@example.test" {
		t.Errorf("reject line %v", r.attrs)
	}
}

// The SMTP smuggling sequences must neither end DATA nor let a second message
// through; the message carrying them is refused and the session stays in step.
func TestSmugglingRefused(t *testing.T) {
	t.Parallel()
	e := start(t, nil)
	for _, seq := range []string{"\n.\n", "\r.\r", "\n.\r\n", "\r\n.\r", "\r.\r\n", "\n..\n"} {
		t.Run(fmt.Sprintf("%q", seq), func(t *testing.T) {
			c := e.dial(t)
			c.greet("mail.example.org")
			c.cmd("MAIL FROM:<bob@example.org>", "250")
			c.cmd("RCPT TO:<alice@example.test>", "250")
			c.cmd("DATA", "354")
			c.send(msg("first") + seq +
				"MAIL FROM:<evil@example.org>\r\nRCPT TO:<alice@example.test>\r\nDATA\r\n" +
				"From: evil@example.org\r\n\r\nsmuggled\r\n.\r\n")
			c.expect("554 5.5.2")
			c.cmd("NOOP", "250") // in step: no stray replies queued
			c.cmd("QUIT", "221")
		})
	}
	if got := e.deliv.got(); len(got) != 0 {
		t.Fatalf("delivered %d messages, want none: %+v", len(got), got)
	}
}

func TestBareLineEndsInBDAT(t *testing.T) {
	t.Parallel()
	e := start(t, nil)
	c := e.dial(t)
	c.greet("mail.example.org")
	c.cmd("MAIL FROM:<bob@example.org>", "250")
	c.cmd("RCPT TO:<alice@example.test>", "250")
	chunk := "Subject: x\r\n\r\nhi\n.\nthere\r\n"
	c.send(fmt.Sprintf("BDAT %d LAST\r\n%s", len(chunk), chunk))
	c.expect("554 5.5.2")
	c.cmd("NOOP", "250")
	// A clean BDAT message in two chunks goes through.
	c.cmd("MAIL FROM:<bob@example.org>", "250")
	c.cmd("RCPT TO:<alice@example.test>", "250")
	one, two := "Subject: x\r\n\r\n", "hello\r\n.\r\n"
	c.send(fmt.Sprintf("BDAT %d\r\n%s", len(one), one))
	c.expect("250")
	c.send(fmt.Sprintf("BDAT %d LAST\r\n%s", len(two), two))
	c.expect("250 2.0.0 Ok: queued as")
	got := e.deliv.got()
	if len(got) != 1 || got[0].body != one+two {
		t.Fatalf("delivered %+v", got)
	}
}

func TestLongLineRefusedSessionInStep(t *testing.T) {
	t.Parallel()
	e := start(t, nil)
	c := e.dial(t)
	c.greet("mail.example.org")
	c.cmd("MAIL FROM:<bob@example.org>", "250")
	c.cmd("RCPT TO:<alice@example.test>", "250")
	c.cmd("DATA", "354")
	c.send(msg(strings.Repeat("x", 999)+"\r\n") + ".\r\n") // 1001 octets with CRLF
	c.expect("554 5.6.0")
	c.cmd("MAIL FROM:<bob@example.org>", "250")
	c.cmd("RCPT TO:<alice@example.test>", "250")
	c.cmd("DATA", "354")
	ok := msg(strings.Repeat("x", 998) + "\r\n") // exactly 1000
	c.send(ok + ".\r\n")
	c.expect("250")
	if got := e.deliv.got(); len(got) != 1 || got[0].body != ok {
		t.Fatalf("delivered %+v", got)
	}
}

func TestDotStuffingRemoved(t *testing.T) {
	t.Parallel()
	e := start(t, nil)
	c := e.dial(t)
	c.greet("mail.example.org")
	c.cmd("MAIL FROM:<>", "250")
	c.cmd("RCPT TO:<alice@example.test>", "250")
	c.cmd("DATA", "354")
	c.send("Subject: dots\r\n\r\n..leading\r\n.\r\n")
	c.expect("250")
	if got := e.deliv.got(); len(got) != 1 || got[0].body != "Subject: dots\r\n\r\n.leading\r\n" || got[0].env.From != "" {
		t.Fatalf("delivered %+v", got)
	}
}

func TestMXReplyFolding(t *testing.T) {
	t.Parallel()
	perm := Reply(550, [3]int{5, 1, 1}, "gone")
	temp := Reply(452, [3]int{4, 2, 2}, "over quota")
	for _, tc := range []struct {
		errs []error
		want string
	}{
		{[]error{nil, nil}, ""},
		{[]error{nil, temp}, "452"},
		{[]error{perm, temp}, "452"},
		{[]error{perm, perm}, "550"},
		{[]error{nil, perm}, ""},
		{[]error{fmt.Errorf("disk on fire")}, "451"},
	} {
		r := smtpReply(tc.errs)
		got := ""
		if r != nil {
			got = fmt.Sprint(r.Code)
		}
		if got != tc.want {
			t.Errorf("smtpReply(%v) = %q, want %q", tc.errs, got, tc.want)
		}
	}
}

// Over-long command lines: an address over the RFC 5321 limits is refused and
// the session goes on; an endless line hits go-smtp's backstop, which closes.
func TestLongCommandLines(t *testing.T) {
	t.Parallel()
	e := start(t, nil)
	c := e.dial(t)
	c.greet("mail.example.org")
	c.cmd("MAIL FROM:<"+strings.Repeat("a", 3000)+"@example.org>", "501 5.1.7")
	c.cmd("MAIL FROM:<bob@example.org>", "250")
	c.cmd("RCPT TO:<"+strings.Repeat("a", 65)+"@example.test>", "501 5.1.3")
	c.send("NOOP " + strings.Repeat("x", DefaultMaxLineLength+hardLineSlack+10) + "\r\n")
	c.expect("500 5.4.0")
	c.expectClosed()
}

// TestHeaderLimits: a header over MaxHeaderBytes or MaxHeaderFields is refused with
// 552 5.3.4 and the session stays in step; a header at the limits goes through.
func TestHeaderLimits(t *testing.T) {
	t.Parallel()
	e := start(t, func(o *Options) { o.MaxHeaderBytes = 4096; o.MaxHeaderFields = 20 })
	c := e.dial(t)
	c.greet("mail.example.org")
	send := func(header, want string) {
		c.cmd("MAIL FROM:<bob@example.org>", "250")
		c.cmd("RCPT TO:<alice@example.test>", "250")
		c.cmd("DATA", "354")
		c.send(header + "\r\nbody\r\n.\r\n")
		c.expect(want)
	}
	field := "X-F: " + strings.Repeat("v", 93) + "\r\n" // 100 octets
	send(strings.Repeat("X-A: 1\r\n", 21), "552 5.3.4 Error: message header too big (limit 4096 octets, 20 fields)")
	send(strings.Repeat(field, 19)+"X-B: 1"+strings.Repeat("\r\n\t"+strings.Repeat("v", 90), 25)+"\r\n", "552 5.3.4")
	send(strings.Repeat("X-A: 1\r\n\tcontinued\r\n", 20), "250") // continuations are not fields
	at := strings.Repeat(field, 19) + "X-C: 1" + strings.Repeat("\r\n\t"+strings.Repeat("v", 97), 21) + "\r\n\t" + strings.Repeat("v", 4096-1900-2-8-21*100-3) + "\r\n"
	send(at, "250") // 4096 octets with the blank line
	if got := e.deliv.got(); len(got) != 2 || got[1].body != at+"\r\nbody\r\n" {
		t.Fatalf("delivered %d messages", len(got))
	}
	e.logs.wait(t, func(r logRec) bool { return r.msg == "reject" && r.attrs[KeyEnhanced] == "5.3.4" })
}
