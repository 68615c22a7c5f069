package smtp

import (
	"context"
	"crypto/tls"
	"log/slog"
	"net"
	"net/smtp"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	gosmtp "github.com/emersion/go-smtp"
)

func TestSubmissionAuthNeedsSTARTTLS(t *testing.T) {
	t.Parallel()
	e := startSubmission(t, RoleSubmission, nil)
	c := e.dial(t)
	c.expect("220 mx.example.test ESMTP")
	ehlo := c.cmd("EHLO client.example.org", "250")
	if !strings.Contains(ehlo, "STARTTLS") || strings.Contains(ehlo, "AUTH") {
		t.Fatalf("EHLO before TLS must offer STARTTLS and no AUTH:\n%s", ehlo)
	}
	c.cmd("AUTH PLAIN "+plainIR("alice@example.test", alicePassword), "530 5.7.0 Must issue a STARTTLS command first")
	c.cmd("AUTH LOGIN", "530 5.7.0 Must issue a STARTTLS command first")
	c.cmd("MAIL FROM:<alice@example.test>", "530 5.7.0 Must issue a STARTTLS command first")
	if n := e.auth.count(); n != 0 {
		t.Fatalf("Authenticator called %d times before TLS", n)
	}
	// After STARTTLS, AUTH is offered.
	e.starttls(c)
	ehlo = c.cmd("EHLO client.example.org", "250")
	if !strings.Contains(ehlo, "AUTH PLAIN LOGIN") || strings.Contains(ehlo, "STARTTLS") {
		t.Fatalf("EHLO after TLS:\n%s", ehlo)
	}
	c.cmd("MAIL FROM:<alice@example.test>", "530 5.7.0 Authentication required")
	c.cmd("RCPT TO:<bob@example.org>", "502 5.5.1") // go-smtp: no MAIL yet
	c.cmd("QUIT", "221")
}

func TestSubmissionPlainNetSMTP(t *testing.T) {
	t.Parallel()
	e := startSubmission(t, RoleSubmission, nil)
	dial := func() *smtp.Client {
		c, err := smtp.Dial(e.addr)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		if err := c.Hello("laptop.example.org"); err != nil {
			t.Fatal(err)
		}
		if err := c.StartTLS(e.clientTLS()); err != nil {
			t.Fatal(err)
		}
		return c
	}
	// net/smtp quotes the text: 535 "5.7.8 Authentication credentials invalid",
	// and gives up the connection after a failed AUTH.
	if err := dial().Auth(smtp.PlainAuth("", "alice@example.test", "wrong", "127.0.0.1")); err == nil ||
		!strings.Contains(err.Error(), "535") || !strings.Contains(err.Error(), "5.7.8 Authentication credentials invalid") {
		t.Fatalf("wrong password: %v", err)
	}
	c := dial()
	if err := c.Auth(smtp.PlainAuth("", "alice@example.test", alicePassword, "127.0.0.1")); err != nil {
		t.Fatal(err)
	}
	if err := c.Mail("alice@example.test"); err != nil {
		t.Fatal(err)
	}
	// Any recipient may be given after AUTH, but the Policy is still asked.
	if err := c.Rcpt("bob@example.org"); err != nil {
		t.Fatal(err)
	}
	if err := c.Rcpt("x@blocked.example"); err == nil || !strings.Contains(err.Error(), "5.7.1 <x@blocked.example>: Recipient address rejected") {
		t.Fatalf("blocked recipient: %v", err)
	}
	w, err := c.Data()
	if err != nil {
		t.Fatal(err)
	}
	w.Write([]byte("From: Alice <alice@example.test>\r\nTo: bob@example.org\r\nSubject: hi\r\n\r\nbody\r\n"))
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	c.Quit()

	got := e.deliv.got()
	if len(got) != 1 {
		t.Fatalf("delivered %d messages", len(got))
	}
	env, body := got[0].env, got[0].body
	if env.Session.User != "alice@example.test" || env.From != "alice@example.test" ||
		len(env.Recipients) != 1 || env.Recipients[0] != "bob@example.org" {
		t.Fatalf("envelope %+v session %+v", env, env.Session)
	}
	// Date and Message-ID were missing: added at the end of the header.
	re := regexp.MustCompile(`^From: Alice <alice@example.test>\r\nTo: bob@example.org\r\nSubject: hi\r\n` +
		`Date: [A-Z][a-z]{2}, \d{1,2} [A-Z][a-z]{2} \d{4} \d\d:\d\d:\d\d [+-]\d{4}\r\n` +
		`Message-ID: <[a-z2-7]{26}@mx\.example\.test>\r\n\r\nbody\r\n$`)
	if !re.MatchString(body) {
		t.Fatalf("fixed message:\n%q", body)
	}
	if d := env.Received.Format(headerDateLayout); !strings.Contains(body, "Date: "+d+"\r\n") {
		t.Errorf("Date is not the receive time %q:\n%s", d, body)
	}
	// net/smtp sends SMTPUTF8 whenever it is offered (RFC 6531 section 3.7.7).
	if h := ReceivedHeader(env); !strings.Contains(h, " with UTF8SMTPSA id ") {
		t.Errorf("Received: %q", h)
	}

	ok := e.logs.wait(t, func(r logRec) bool { return r.msg == "auth" && r.attrs[KeyStatus] == "ok" })
	if ok.attrs[KeyUser] != "alice@example.test" || ok.attrs[KeyMech] != "PLAIN" || ok.attrs[KeyClient] != "127.0.0.1" || ok.attrs[KeySession] == "" {
		t.Errorf("auth ok line %v", ok.attrs)
	}
	fail := e.logs.wait(t, func(r logRec) bool { return r.msg == "auth" && r.attrs[KeyStatus] == "fail" })
	if fail.attrs[KeyUser] != "alice@example.test" || fail.attrs[KeyCode] != "535" || fail.attrs[KeyEnhanced] != "5.7.8" {
		t.Errorf("auth fail line %v", fail.attrs)
	}
	assertNoSecretLogged(t, e.logs, alicePassword, "wrong")
}

// assertNoSecretLogged fails when any log value contains one of the secrets.
func assertNoSecretLogged(t *testing.T, logs *logSink, secrets ...string) {
	t.Helper()
	for _, r := range logs.all() {
		for k, v := range r.attrs {
			for _, s := range secrets {
				if strings.Contains(v, s) {
					t.Errorf("log line %q key %q contains a password: %q", r.msg, k, v)
				}
			}
		}
	}
}

func TestSubmissionLoginRaw(t *testing.T) {
	t.Parallel()
	e := startSubmission(t, RoleSubmission, nil)
	c := e.dial(t)
	c.greet("client.example.org")
	e.starttls(c)
	c.cmd("EHLO client.example.org", "250")
	c.cmd("AUTH LOGIN", "334 VXNlcm5hbWU6")
	c.cmd(b64("alice@example.test"), "334 UGFzc3dvcmQ6")
	c.cmd(b64(alicePassword), "235 2.0.0")
	c.cmd("AUTH PLAIN "+plainIR("alice@example.test", alicePassword), "503 5.5.1") // already authenticated
	c.sendRaw("info@example.test", "bob@example.org",
		"From: info@example.test\r\nDate: Tue, 2 Jan 2024 15:04:05 +0000\r\nMessage-ID: <keep@client.example.org>\r\n\r\nhello\r\n", "250 2.0.0 Ok: queued as ")
	got := e.deliv.got()
	if len(got) != 1 {
		t.Fatalf("delivered %d", len(got))
	}
	// Date and Message-ID present: the message is delivered byte for byte.
	if want := "From: info@example.test\r\nDate: Tue, 2 Jan 2024 15:04:05 +0000\r\nMessage-ID: <keep@client.example.org>\r\n\r\nhello\r\n"; got[0].body != want {
		t.Fatalf("body changed:\n%q", got[0].body)
	}
	rec := e.logs.wait(t, func(r logRec) bool { return r.msg == "auth" && r.attrs[KeyStatus] == "ok" })
	if rec.attrs[KeyMech] != "LOGIN" {
		t.Errorf("auth line %v", rec.attrs)
	}
}

func TestSubmissionLoginCancelAndPlainChallenge(t *testing.T) {
	t.Parallel()
	e := startSubmission(t, RoleSubmission, nil)
	c := e.dial(t)
	c.greet("client.example.org")
	e.starttls(c)
	c.cmd("EHLO client.example.org", "250")
	c.cmd("AUTH LOGIN", "334 VXNlcm5hbWU6")
	c.cmd("*", "501") // RFC 4954 section 4: the client cancels
	c.cmd("AUTH CRAM-MD5", "504 5.5.4")
	c.cmd("AUTH PLAIN", "334")
	c.cmd(plainIR("alice@example.test", alicePassword), "235 2.0.0")
	c.cmd("MAIL FROM:<alice@example.test>", "250")
	c.cmd("QUIT", "221")
}

func TestSubmissionsImplicitTLS(t *testing.T) {
	t.Parallel()
	e := startSubmission(t, RoleSubmissions, nil)
	c, err := gosmtp.DialTLS(e.addr, e.clientTLS())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Hello("laptop.example.org"); err != nil {
		t.Fatal(err)
	}
	if ok, _ := c.Extension("STARTTLS"); ok {
		t.Error("STARTTLS offered on implicit TLS")
	}
	if ok, mechs := c.Extension("AUTH"); !ok || mechs != "PLAIN LOGIN" {
		t.Fatalf("AUTH extension %v %q", ok, mechs)
	}
	if err := c.Auth(sasl.NewLoginClient("alice@example.test", alicePassword)); err != nil {
		t.Fatal(err)
	}
	if err := c.SendMail("alice@example.test", []string{"carol@example.net"},
		strings.NewReader("From: alice@example.test\r\nSubject: x\r\n\r\nhi\r\n")); err != nil {
		t.Fatal(err)
	}
	c.Quit()
	got := e.deliv.got()
	if len(got) != 1 || got[0].env.Session.TLS == nil || got[0].env.Session.Role != RoleSubmissions {
		t.Fatalf("delivered %+v", got)
	}
	if h := ReceivedHeader(got[0].env); !strings.Contains(h, "with ESMTPSA id") {
		t.Errorf("Received: %q", h)
	}
	rec := e.logs.wait(t, isMsg("connect"))
	if rec.attrs[KeyRole] != "submissions" {
		t.Errorf("connect line %v", rec.attrs)
	}
}

func TestSubmissionsTLSListenerAccepted(t *testing.T) {
	t.Parallel()
	// server/ may hand Serve a tls.NewListener; the session must still see TLS.
	cert, pool := testCert(t)
	cfg := &tls.Config{Certificates: []tls.Certificate{cert}}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	logs := newLogSink()
	srv := NewServer(Options{
		Role: RoleSubmissions, Hostname: "mx.example.test", TLSConfig: cfg,
		Authenticator: &testAuth{}, SenderPolicy: testSenders{}, Policy: submissionPolicy{},
		Deliverer: &testDeliverer{}, Logger: slog.New(logs), SpoolDir: t.TempDir(),
	})
	done := make(chan error, 1)
	go func() { done <- srv.Serve(tls.NewListener(l, cfg)) }()
	defer func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		srv.Shutdown(ctx)
		<-done
	}()
	c, err := gosmtp.DialTLS(l.Addr().String(), &tls.Config{RootCAs: pool, ServerName: "mx.example.test"})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Hello("laptop.example.org"); err != nil {
		t.Fatal(err)
	}
	if err := c.Auth(sasl.NewPlainClient("", "alice@example.test", alicePassword)); err != nil {
		t.Fatal(err)
	}
}

func TestSubmissionMailBeforeAuth(t *testing.T) {
	t.Parallel()
	e := startSubmission(t, RoleSubmissions, nil)
	c := e.dialTLS(t)
	c.greet("client.example.org")
	c.cmd("MAIL FROM:<alice@example.test>", "530 5.7.0 Authentication required")
	rec := e.logs.wait(t, func(r logRec) bool { return r.msg == "reject" && r.attrs[KeyStage] == "mail" })
	if rec.attrs[KeyCode] != "530" {
		t.Errorf("reject line %v", rec.attrs)
	}
	if len(e.deliv.got()) != 0 {
		t.Fatal("delivered without AUTH")
	}
}

func TestSubmissionSenderRules(t *testing.T) {
	t.Parallel()
	e := startSubmission(t, RoleSubmission, nil)
	c := e.loginTLS(t)
	c.cmd("MAIL FROM:<bob@example.test>", "553 5.7.1 <bob@example.test>: Sender address rejected: not owned by user <alice@example.test>")
	c.cmd("MAIL FROM:<>", "553 5.7.1")
	// The rejected MAIL left no transaction behind.
	c.cmd("RCPT TO:<x@example.org>", "502 5.5.1")
	// Domain case does not matter.
	c.cmd("MAIL FROM:<alice@EXAMPLE.test>", "250")
	c.cmd("RSET", "250")

	for _, tc := range []struct{ name, text, want string }{
		{"from", "From: Bob <bob@example.test>\r\n\r\nx\r\n", "553 5.7.1 <bob@example.test>: Sender address rejected: not owned by user <alice@example.test>"},
		{"second from", "From: alice@example.test\r\nFrom: bob@example.test\r\n\r\nx\r\n", "553 5.7.1 <bob@example.test>"},
		{"from list", "From: alice@example.test, mallory@example.org\r\nSender: alice@example.test\r\n\r\nx\r\n", "553 5.7.1 <mallory@example.org>"},
		{"sender", "From: alice@example.test\r\nSender: bob@example.test\r\n\r\nx\r\n", "553 5.7.1 <bob@example.test>"},
		{"folded from", "From: Alice\r\n <bob@example.test>\r\n\r\nx\r\n", "553 5.7.1 <bob@example.test>"},
		{"obs space", "From : bob@example.test\r\n\r\nx\r\n", "553 5.7.1 <bob@example.test>"},
		{"lower case", "from: bob@example.test\r\n\r\nx\r\n", "553 5.7.1 <bob@example.test>"},
		{"bad from", "From: not an address\r\n\r\nx\r\n", "554 5.6.0 Error: malformed From: header"},
		{"hidden from", "Subject: x\r\nthis is no header\r\nFrom: bob@example.test\r\n\r\nx\r\n", "554 5.6.0 Error: malformed message header"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c.t = t
			c.sendRaw("alice@example.test", "bob@example.org", tc.text, tc.want)
		})
	}
	c.t = t
	// The session goes on; an alias in From is fine.
	c.sendRaw("alice@example.test", "bob@example.org", "From: Info =?x-unknown?q?Desk?= <info@example.test>\r\n\r\nx\r\n", "250")
	if n := len(e.deliv.got()); n != 1 {
		t.Fatalf("delivered %d messages, want only the last", n)
	}
}

func TestSubmissionAddsFrom(t *testing.T) {
	t.Parallel()
	e := startSubmission(t, RoleSubmission, nil)
	c := e.loginTLS(t)
	c.sendRaw("alice@example.test", "bob@example.org", "Subject: cron\r\n\r\nout\r\n", "250")
	c.sendRaw("alice@example.test", "bob@example.org", "no header at all\r\n", "554 5.6.0")
	c.sendRaw("alice@example.test", "bob@example.org", "\r\nbody only\r\n", "250")
	got := e.deliv.got()
	if len(got) != 2 {
		t.Fatalf("delivered %d", len(got))
	}
	if b := got[0].body; !strings.HasPrefix(b, "Subject: cron\r\nFrom: <alice@example.test>\r\nDate: ") || !strings.HasSuffix(b, ">\r\n\r\nout\r\n") {
		t.Errorf("first:\n%q", b)
	}
	if b := got[1].body; !strings.HasPrefix(b, "From: <alice@example.test>\r\nDate: ") || !strings.HasSuffix(b, ">\r\n\r\nbody only\r\n") {
		t.Errorf("second:\n%q", b)
	}
}

func TestSubmissionTooManyAuthFailures(t *testing.T) {
	t.Parallel()
	e := startSubmission(t, RoleSubmissions, nil)
	c := e.dialTLS(t)
	c.greet("client.example.org")
	c.cmd("AUTH PLAIN "+plainIR("alice@example.test", "guess1"), "535 5.7.8 Authentication credentials invalid")
	c.cmd("EHLO again.example.org", "250") // a new EHLO does not reset the count
	c.cmd("AUTH LOGIN "+b64("alice@example.test"), "334 UGFzc3dvcmQ6")
	c.cmd(b64("guess2"), "535 5.7.8")
	c.cmd("AUTH PLAIN "+plainIR("alice@example.test", "guess3"), "421 4.7.0 Error: too many failed authentication attempts")
	c.expectClosed()
	dis := e.logs.wait(t, isMsg("disconnect"))
	if dis.attrs[KeyRejects] != "3" {
		t.Errorf("disconnect line %v", dis.attrs)
	}
	if n := len(e.logs.find("auth")); n != 3 {
		t.Errorf("%d auth lines, want 3", n)
	}
	assertNoSecretLogged(t, e.logs, "guess1", "guess2", "guess3")
}

func TestSubmissionMalformedAuthCounts(t *testing.T) {
	t.Parallel()
	e := startSubmission(t, RoleSubmission, func(o *Options) { o.MaxAuthFailures = 2 })
	c := e.dial(t)
	c.greet("client.example.org")
	e.starttls(c)
	c.cmd("EHLO client.example.org", "250")
	// authzid differing from authcid: acting as someone else is not supported.
	c.cmd("AUTH PLAIN "+b64("bob@example.test\x00alice@example.test\x00"+alicePassword), "535 5.7.8")
	c.cmd("AUTH PLAIN "+b64("no separators"), "421 4.7.0")
	c.expectClosed()
	if n := e.auth.count(); n != 0 {
		t.Errorf("Authenticator called %d times for malformed responses", n)
	}
}

func TestSubmissionLockoutReply(t *testing.T) {
	t.Parallel()
	e := startSubmission(t, RoleSubmissions, nil)
	c := e.dialTLS(t)
	c.greet("client.example.org")
	c.cmd("AUTH PLAIN "+plainIR("locked@example.test", "whatever"), "454 4.7.0 Temporary authentication failure")
	c.cmd("AUTH PLAIN "+plainIR("alice@example.test", alicePassword), "235")
}

func TestSubmissionAuthDuringTransaction(t *testing.T) {
	t.Parallel()
	e := startSubmission(t, RoleSubmissions, nil)
	c := e.dialTLS(t)
	c.greet("client.example.org")
	c.cmd("AUTH PLAIN "+plainIR("alice@example.test", alicePassword), "235")
	// After STARTTLS is impossible here; a second EHLO keeps the login.
	c.cmd("EHLO client.example.org", "250")
	c.cmd("MAIL FROM:<alice@example.test>", "250")
}

func TestSubmissionNeedsOptions(t *testing.T) {
	t.Parallel()
	for _, role := range []Role{RoleSubmission, RoleSubmissions} {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		srv := NewServer(Options{Role: role, Policy: submissionPolicy{}, Deliverer: &testDeliverer{}})
		if err := srv.Serve(l); err == nil || !strings.Contains(err.Error(), "Authenticator") {
			t.Errorf("%s without Authenticator: %v", role, err)
		}
	}
}

func TestMXDoesNotOfferAuth(t *testing.T) {
	t.Parallel()
	cert, pool := testCert(t)
	e := start(t, func(o *Options) {
		o.TLSConfig = &tls.Config{Certificates: []tls.Certificate{cert}}
	})
	se := &submissionEnv{testEnv: e, pool: pool}
	c := e.dial(t)
	c.greet("mail.example.org")
	se.starttls(c)
	if ehlo := c.cmd("EHLO mail.example.org", "250"); strings.Contains(ehlo, "AUTH") {
		t.Fatalf("MX offers AUTH:\n%s", ehlo)
	}
	c.send("AUTH PLAIN " + plainIR("alice@example.test", alicePassword) + "\r\n")
	if code, text := c.reply(); code/100 != 5 {
		t.Fatalf("AUTH on MX: %s", text)
	}
}

func TestSubmissionsBanner(t *testing.T) {
	t.Parallel()
	e := startSubmission(t, RoleSubmissions, nil)
	c := e.dialTLS(t)
	// Below TLS conn cannot rewrite go-smtp's greeting (see doc.go), so on
	// implicit TLS it keeps go-smtp's "Service Ready"; it still names no software.
	if text := c.expect("220 mx.example.test ESMTP"); text != "220 mx.example.test ESMTP Service Ready" {
		t.Fatalf("banner %q", text)
	}
}

func TestReceivedHeaderAuthenticated(t *testing.T) {
	t.Parallel()
	env := &Envelope{ID: "X.1", Session: &Session{HELO: "h", Hostname: "mx.example.test", User: "alice@example.test"},
		Recipients: []string{"a@b.c", "d@e.f"}, Received: time.Unix(0, 0).UTC()}
	h := ReceivedHeader(env)
	if !strings.Contains(h, " with ESMTPA id X.1;") || strings.Contains(h, "alice") {
		t.Errorf("Received: %q", h)
	}
	env.SMTPUTF8 = true
	if h := ReceivedHeader(env); !strings.Contains(h, " with UTF8SMTPA id ") {
		t.Errorf("Received: %q", h)
	}
}

func TestSubmissionAuthenticatorPanic(t *testing.T) {
	t.Parallel()
	e := startSubmission(t, RoleSubmissions, nil)
	c := e.dialTLS(t)
	c.greet("client.example.org")
	c.cmd("AUTH PLAIN "+plainIR("boom@example.test", "x"), "421 4.0.0")
	c.expectClosed()
	rec := e.logs.wait(t, isMsg("panic"))
	if rec.attrs[KeyStage] != "auth" || !strings.Contains(rec.attrs[KeyPanic], "authenticator exploded") {
		t.Errorf("panic line %v", rec.attrs)
	}
	// The server goes on.
	c2 := e.dialTLS(t)
	c2.greet("client.example.org")
	c2.cmd("AUTH PLAIN "+plainIR("alice@example.test", alicePassword), "235")
}
