package smtp

import (
	"net"
	"net/smtp"
	"strings"
	"testing"
)

func TestBannerAndEHLO(t *testing.T) {
	t.Parallel()
	e := start(t, nil)
	c := e.dial(t)
	if _, banner := c.reply(); banner != "220 mx.example.test ESMTP" {
		t.Fatalf("banner %q", banner)
	}
	ehlo := c.cmd("EHLO mail.example.org", "250")
	for _, ext := range []string{"PIPELINING", "SIZE 52428800", "8BITMIME", "ENHANCEDSTATUSCODES", "SMTPUTF8", "CHUNKING"} {
		if !strings.Contains(ehlo, "250-"+ext+"\n") && !strings.HasSuffix(ehlo, "250 "+ext) {
			t.Errorf("EHLO lacks %s:\n%s", ext, ehlo)
		}
	}
	for _, ext := range []string{"AUTH", "STARTTLS"} {
		if strings.Contains(ehlo, ext) {
			t.Errorf("EHLO offers %s without TLS config:\n%s", ext, ehlo)
		}
	}
	c.cmd("VRFY alice@example.test", "252")
	c.cmd("QUIT", "221")
	e.logs.wait(t, isMsg("disconnect"))
	conn := e.logs.find("connect")[0]
	if conn.attrs[KeySession] == "" || conn.attrs[KeyClient] != "127.0.0.1" || conn.attrs[KeyRole] != "mx" {
		t.Errorf("connect line %v", conn.attrs)
	}
}

func TestStdlibClientSendsMail(t *testing.T) {
	t.Parallel()
	e := start(t, trusted) // net/smtp says "HELO localhost"
	err := smtp.SendMail(e.addr, nil, "bob@example.org", []string{"alice@Example.TEST"}, []byte(msg("hello\r\n")))
	if err != nil {
		t.Fatal(err)
	}
	got := e.deliv.got()
	if len(got) != 1 || got[0].env.From != "bob@example.org" || got[0].env.Recipients[0] != "alice@example.test" {
		t.Fatalf("delivered %+v", got)
	}
	if got[0].body != msg("hello\r\n") {
		t.Errorf("body %q", got[0].body)
	}
}

func TestHELORequired(t *testing.T) {
	t.Parallel()
	e := start(t, nil)
	c := e.dial(t)
	c.expect("220 ")
	// go-smtp answers this itself with 502 (RFC 5321 would say 503).
	c.cmd("MAIL FROM:<bob@example.org>", "502 5.5.1")
	c.cmd("EHLO mail.example.org", "250")
	c.cmd("MAIL FROM:<bob@example.org>", "250")
	c.cmd("MAIL FROM:<bob@example.org>", "503 5.5.1")
}

func TestHELOChecks(t *testing.T) {
	t.Parallel()
	e := start(t, nil)
	et := start(t, trusted)
	for _, tc := range []struct{ helo, want string }{
		{"mail.example.org", "250"},
		{"[192.0.2.1]", "250"},
		{"[IPv6:2001:db8::1]", "250"},
		{"localhost", "504 5.5.2 <localhost>: Helo command rejected: need fully-qualified hostname"},
		{"bad!name.example", "501 5.5.2 <bad!name.example>: Helo command rejected: Invalid name"},
		{"192.0.2.1", "501 5.5.2"},
		{"[192.0.2.999]", "501 5.5.2"},
	} {
		c := e.dial(t)
		c.expect("220 ")
		c.cmd("EHLO "+tc.helo, tc.want)
		if tc.want != "250" {
			// The refused name does not count as a greeting.
			c.cmd("MAIL FROM:<bob@example.org>", "502 5.5.1")
		}
		ct := et.dial(t)
		ct.expect("220 ")
		ct.cmd("EHLO "+tc.helo, "250") // trusted clients are not checked
	}
	r := e.logs.wait(t, func(r logRec) bool { return r.msg == "reject" && r.attrs[KeyStage] == "helo" })
	if r.attrs[KeyCode] == "" || r.attrs[KeyEnhanced] != "5.5.2" || r.attrs[KeySession] == "" || r.attrs[KeyClient] != "127.0.0.1" {
		t.Errorf("reject line %v", r.attrs)
	}
}

func TestSecondEHLOIsChecked(t *testing.T) {
	t.Parallel()
	e := start(t, nil)
	c := e.dial(t)
	c.greet("mail.example.org")
	c.cmd("EHLO localhost", "250") // go-smtp resets without asking us
	c.cmd("MAIL FROM:<bob@example.org>", "504 5.5.2")
}

func TestSenderChecks(t *testing.T) {
	t.Parallel()
	res := fakeResolver{
		mx: map[string][]*net.MX{
			"example.org": {{Host: "mx.example.org.", Pref: 10}},
			"nullmx.test": {{Host: ".", Pref: 0}},
		},
		hosts: map[string][]string{"aonly.test": {"192.0.2.7"}},
		fail:  map[string]bool{"servfail.test": true},
	}
	e := start(t, func(o *Options) { o.Resolver = res; o.RejectUnknownSenderDomain = true })
	off := start(t, func(o *Options) { o.Resolver = res })
	et := start(t, func(o *Options) { o.Resolver = res; o.RejectUnknownSenderDomain = true; trusted(o) })
	for _, tc := range []struct{ from, want, wantOff, wantTrusted string }{
		{"<>", "250", "250", "250"},
		{"<bob@example.org>", "250", "250", "250"},
		{"<bob@aonly.test>", "250", "250", "250"},
		{"<bob@localhost>", "504 5.5.2 <bob@localhost>: Sender address rejected: need fully-qualified address", "504 5.5.2", "250"},
		{"<bob@nomx.test>", "550 5.1.8 <bob@nomx.test>: Sender address rejected: Domain not found", "250", "250"},
		{"<bob@servfail.test>", "451 4.1.8", "250", "250"},
		{"<bob@nullmx.test>", "550 5.7.27", "250", "250"},
		{"<bob@[192.0.2.1]>", "250", "250", "250"},
		{"<bob@exa mple.org>", "501 5.5.2", "501 5.5.2", "501 5.5.2"}, // go-smtp's parser
		{"<bob@-bad-.example>", "501 5.1.7", "501 5.1.7", "501 5.1.7"},
		{"<bøb@example.org>", "553 5.6.7", "553 5.6.7", "553 5.6.7"},
	} {
		for _, v := range []struct {
			env  *testEnv
			want string
		}{{e, tc.want}, {off, tc.wantOff}, {et, tc.wantTrusted}} {
			c := v.env.dial(t)
			c.greet("mail.example.org")
			c.cmd("MAIL FROM:"+tc.from, v.want)
		}
	}
	c := e.dial(t)
	c.greet("mail.example.org")
	c.cmd("MAIL FROM:<bøb@example.org> SMTPUTF8", "250")
	r := e.logs.wait(t, func(r logRec) bool { return r.msg == "reject" && r.attrs[KeyEnhanced] == "5.1.8" })
	if r.attrs[KeyStage] != "mail" || r.attrs[KeyFrom] != "bob@nomx.test" || r.attrs[KeyCode] != "550" {
		t.Errorf("reject line %v", r.attrs)
	}
}

func TestRecipients(t *testing.T) {
	t.Parallel()
	e := start(t, func(o *Options) { o.MaxRecipients = 2 })
	c := e.dial(t)
	c.greet("mail.example.org")
	c.cmd("MAIL FROM:<bob@example.org>", "250")
	c.cmd("RCPT TO:<nobody@example.test>", "550 5.1.1")
	c.cmd("RCPT TO:<victim@gmail.example>", "554 5.7.1 <victim@gmail.example>: Relay access denied")
	c.cmd("RCPT TO:<a@exa_mple..test>", "501 5.1.3")
	c.cmd("RCPT TO:<alice@example.test>", "250")
	c.cmd("RCPT TO:<carol@example.test>", "250")
	c.cmd("RCPT TO:<dave@example.test>", "452 4.5.3 Error: too many recipients")
	c.cmd("DATA", "354")
	c.send(msg("hi\r\n") + ".\r\n")
	c.expect("250 2.0.0 Ok: queued as ")
	got := e.deliv.got()
	if len(got) != 1 || strings.Join(got[0].env.Recipients, ",") != "alice@example.test,carol@example.test" {
		t.Fatalf("delivered %+v", got)
	}
	r := e.logs.wait(t, func(r logRec) bool { return r.msg == "reject" && r.attrs[KeyCode] == "550" })
	if r.attrs[KeyStage] != "rcpt" || r.attrs[KeyTo] != "nobody@example.test" || r.attrs[KeyFrom] != "bob@example.org" {
		t.Errorf("reject line %v", r.attrs)
	}
}
