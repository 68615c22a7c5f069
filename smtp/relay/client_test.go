package relay

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"

	gosmtp "github.com/emersion/go-smtp"
)

const msg = "From: me@example.com\r\nTo: you@example.org\r\nSubject: hi\r\n\r\nhello\r\n.leading dot\r\n"

func smartOpts(f *fakeHost, mode TLSMode) (Options, *fixedDialer) {
	addr := f.startTLSAddr
	switch mode {
	case TLSImplicit:
		addr = f.implicitAddr
	case TLSNone:
		addr = f.plainAddr
	}
	d := &fixedDialer{addr: addr}
	return Options{Host: "smtp.test", TLS: mode, Username: "me@example.com", Password: "app-password",
		RootCAs: f.pool, HeloName: "mail.example.com", Dialer: d, Logger: quietLogger(), AllowInternal: true}, d
}

func newClient(t *testing.T, o Options) *Client {
	t.Helper()
	c, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func send(t *testing.T, c *Client, from string, rcpts ...string) ([]Result, error) {
	t.Helper()
	return c.Send(context.Background(), Envelope{From: from, Rcpts: rcpts}, strings.NewReader(msg))
}

func TestSendStartTLSAndImplicit(t *testing.T) {
	t.Parallel()
	f := newFakeHost(t)
	for _, mode := range []TLSMode{TLSStartTLS, TLSImplicit} {
		for _, mech := range []string{"PLAIN", "LOGIN"} {
			f.set(func(f *fakeHost) { f.mechs = []string{mech} })
			o, _ := smartOpts(f, mode)
			c := newClient(t, o)
			res, err := send(t, c, "me@example.com", "you@example.org", "them@example.net")
			if err != nil {
				t.Fatalf("%s/%s: %v", mode, mech, err)
			}
			if len(res) != 2 || !res[0].Delivered() || !res[1].Delivered() || res[0].RemoteMTA != "smtp.test" {
				t.Errorf("%s/%s: results %+v", mode, mech, res)
			}
			m := f.next(t)
			if !m.tls || m.authed != mech+":me@example.com" || m.from != "me@example.com" ||
				strings.Join(m.rcpts, ",") != "you@example.org,them@example.net" {
				t.Errorf("%s/%s: received %+v", mode, mech, m)
			}
			if m.data != msg {
				t.Errorf("%s/%s: data %q", mode, mech, m.data)
			}
		}
	}
}

func TestConnectionReused(t *testing.T) {
	t.Parallel()
	f := newFakeHost(t)
	o, d := smartOpts(f, TLSStartTLS)
	c := newClient(t, o)
	for i := range 5 {
		if _, err := send(t, c, "me@example.com", "you@example.org"); err != nil {
			t.Fatalf("message %d: %v", i, err)
		}
		f.next(t)
	}
	if n := d.dials.Load(); n != 1 {
		t.Errorf("%d dials for 5 messages, want 1", n)
	}
	// A failed transaction resets (RSET) and the connection stays usable.
	f.set(func(f *fakeHost) {
		f.failRcpt["bad@example.org"] = &gosmtp.SMTPError{Code: 550, EnhancedCode: gosmtp.EnhancedCode{5, 1, 1}, Message: "no such user"}
	})
	res, err := send(t, c, "me@example.com", "bad@example.org")
	if err != nil || res[0].Code != 550 || res[0].Enhanced != "5.1.1" || res[0].Temporary {
		t.Fatalf("rejected rcpt: %+v %v", res, err)
	}
	if _, err := send(t, c, "me@example.com", "you@example.org"); err != nil {
		t.Fatal(err)
	}
	f.next(t)
	if n := d.dials.Load(); n != 1 {
		t.Errorf("%d dials after a reset, want 1", n)
	}
}

func TestStaleConnectionRedialed(t *testing.T) {
	t.Parallel()
	f := newFakeHost(t)
	o, d := smartOpts(f, TLSStartTLS)
	c := newClient(t, o)
	if _, err := send(t, c, "me@example.com", "you@example.org"); err != nil {
		t.Fatal(err)
	}
	f.next(t)
	// The server drops the idle connection.
	c.mu.Lock()
	for _, cs := range c.idle {
		for _, x := range cs {
			x.nc.Close()
		}
	}
	c.mu.Unlock()
	if _, err := send(t, c, "me@example.com", "you@example.org"); err != nil {
		t.Fatalf("after the server dropped the pooled connection: %v", err)
	}
	f.next(t)
	if n := d.dials.Load(); n != 2 {
		t.Errorf("dials = %d, want 2", n)
	}
}

func TestPerRecipientAndTransactionFailures(t *testing.T) {
	t.Parallel()
	f := newFakeHost(t)
	o, _ := smartOpts(f, TLSStartTLS)
	c := newClient(t, o)
	f.set(func(f *fakeHost) {
		f.failRcpt["full@example.org"] = &gosmtp.SMTPError{Code: 452, EnhancedCode: gosmtp.EnhancedCode{4, 2, 2}, Message: "mailbox full"}
		f.failRcpt["gone@example.org"] = &gosmtp.SMTPError{Code: 550, EnhancedCode: gosmtp.EnhancedCode{5, 1, 1}, Message: "no such user"}
	})
	res, err := send(t, c, "me@example.com", "ok@example.org", "full@example.org", "gone@example.org")
	if err != nil {
		t.Fatal(err)
	}
	if !res[0].Delivered() || res[1].Code != 452 || !res[1].Temporary || res[2].Code != 550 || res[2].Temporary {
		t.Errorf("results %+v", res)
	}
	if m := f.next(t); strings.Join(m.rcpts, ",") != "ok@example.org" {
		t.Errorf("received for %v", m.rcpts)
	}

	for _, tc := range []struct {
		name  string
		set   func(f *fakeHost)
		stage Stage
		code  int
		temp  bool
	}{
		{"mail 4xx", func(f *fakeHost) {
			f.failMail = &gosmtp.SMTPError{Code: 451, EnhancedCode: gosmtp.EnhancedCode{4, 3, 0}, Message: "later"}
		}, StageMail, 451, true},
		{"mail 5xx", func(f *fakeHost) {
			f.failMail = &gosmtp.SMTPError{Code: 553, EnhancedCode: gosmtp.EnhancedCode{5, 7, 1}, Message: "not your address"}
		}, StageMail, 553, false},
		{"data 4xx", func(f *fakeHost) {
			f.failMail = nil
			f.failData = &gosmtp.SMTPError{Code: 451, EnhancedCode: gosmtp.EnhancedCode{4, 3, 0}, Message: "spool full"}
		}, StageData, 451, true},
		{"data 5xx", func(f *fakeHost) {
			f.failData = &gosmtp.SMTPError{Code: 554, EnhancedCode: gosmtp.EnhancedCode{5, 6, 0}, Message: "spam"}
		}, StageData, 554, false},
	} {
		f.set(tc.set)
		res, err := send(t, c, "me@example.com", "ok@example.org")
		var e *Error
		if !errors.As(err, &e) || e.Stage != tc.stage || e.Code != tc.code || e.Temporary != tc.temp {
			t.Errorf("%s: err %#v", tc.name, err)
			continue
		}
		if len(res) != 1 || res[0].Code != tc.code || res[0].Temporary != tc.temp {
			t.Errorf("%s: results %+v", tc.name, res)
		}
	}
}

func TestAuthFailureIsTemporary(t *testing.T) {
	t.Parallel()
	f := newFakeHost(t)
	o, _ := smartOpts(f, TLSStartTLS)
	o.Password = "wrong-secret-123"
	var logs bytes.Buffer
	o.Logger = slogTo(&logs)
	c := newClient(t, o)
	res, err := send(t, c, "me@example.com", "you@example.org")
	var e *Error
	if !errors.As(err, &e) || e.Stage != StageAuth || e.Code != 535 || !e.Temporary {
		t.Fatalf("err = %#v", err)
	}
	if !res[0].Temporary {
		t.Error("auth failure would bounce the message")
	}
	if strings.Contains(logs.String(), "wrong-secret-123") || strings.Contains(err.Error(), "wrong-secret-123") {
		t.Error("password leaked into logs or errors")
	}
}

func TestNoAuthWithoutTLS(t *testing.T) {
	t.Parallel()
	f := newFakeHost(t)
	o, _ := smartOpts(f, TLSNone)
	c := newClient(t, o)
	// 127.0.0.1 is loopback: AUTH in clear is allowed there (a relay on
	// this host); the fake itself refuses AUTH without TLS.
	_, err := send(t, c, "me@example.com", "you@example.org")
	var e *Error
	if !errors.As(err, &e) || e.Stage != StageAuth {
		t.Fatalf("err = %v", err)
	}
	if isLoopback(nil) {
		t.Error("nil address counted as loopback")
	}
}

func TestStartTLSRequired(t *testing.T) {
	t.Parallel()
	f := newFakeHost(t)
	o, _ := smartOpts(f, TLSStartTLS)
	o.Dialer = &fixedDialer{addr: f.plainAddr} // a server that offers no STARTTLS
	c := newClient(t, o)
	_, err := send(t, c, "me@example.com", "you@example.org")
	var e *Error
	if !errors.As(err, &e) || e.Stage != StageTLS || !errors.Is(err, errNoStartTLS) || !e.Temporary {
		t.Fatalf("err = %v", err)
	}
}

func TestUnknownCARefused(t *testing.T) {
	t.Parallel()
	f := newFakeHost(t)
	o, _ := smartOpts(f, TLSImplicit)
	o.RootCAs = nil // system pool: does not know the test CA
	c := newClient(t, o)
	_, err := send(t, c, "me@example.com", "you@example.org")
	var e *Error
	if !errors.As(err, &e) || e.Stage != StageTLS {
		t.Fatalf("err = %v", err)
	}
	o.InsecureSkipVerify = true
	c2 := newClient(t, o)
	if _, err := send(t, c2, "me@example.com", "you@example.org"); err != nil {
		t.Fatalf("encrypt without verify: %v", err)
	}
	f.next(t)
}

func TestBadOptions(t *testing.T) {
	t.Parallel()
	for _, o := range []Options{
		{Host: "x", TLS: "ssl"},
		{Host: "x", Port: 70000},
		{Host: "x", Password: "p"},
	} {
		if _, err := New(o); err == nil {
			t.Errorf("New(%+v) accepted", o)
		}
	}
}
