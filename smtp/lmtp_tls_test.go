package smtp

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"math/big"
	"net"
	"net/smtp"
	"strings"
	"testing"
	"time"

	gosmtp "github.com/emersion/go-smtp"
)

func TestLMTPPerRecipientReplies(t *testing.T) {
	t.Parallel()
	e := start(t, func(o *Options) { o.Role = RoleLMTP })
	e.deliv.hook = func(env *Envelope) []error {
		errs := make([]error, len(env.Recipients))
		for i, r := range env.Recipients {
			switch {
			case strings.HasPrefix(r, "full"):
				errs[i] = Reply(452, [3]int{4, 2, 2}, "Mailbox full")
			case strings.HasPrefix(r, "gone"):
				errs[i] = Reply(550, [3]int{5, 1, 1}, "User unknown")
			}
		}
		return errs
	}
	conn, err := net.Dial("unix", e.addr)
	if err != nil {
		t.Fatal(err)
	}
	c := gosmtp.NewClientLMTP(conn)
	defer c.Close()
	if err := c.Hello("mta.example.org"); err != nil {
		t.Fatal(err)
	}
	if err := c.Mail("bob@example.org", nil); err != nil {
		t.Fatal(err)
	}
	for _, r := range []string{"alice@example.test", "full@example.test", "gone@example.test"} {
		if err := c.Rcpt(r, nil); err != nil {
			t.Fatal(err)
		}
	}
	if err := c.Rcpt("nobody@example.test", nil); err == nil || !strings.Contains(err.Error(), "550") {
		t.Fatalf("RCPT nobody: %v", err)
	}
	w, err := c.Data()
	if err != nil {
		t.Fatal(err)
	}
	w.Write([]byte(msg("hi\r\n")))
	resp, err := w.CloseWithLMTPResponse()
	var lerr gosmtp.LMTPDataError
	if !errors.As(err, &lerr) {
		t.Fatalf("want per-recipient errors, got %v", err)
	}
	if resp["alice@example.test"] == nil || !strings.Contains(resp["alice@example.test"].StatusText, "Ok: saved as") {
		t.Errorf("alice: %+v", resp)
	}
	if e := lerr["full@example.test"]; e == nil || e.Code != 452 || e.EnhancedCode != (gosmtp.EnhancedCode{4, 2, 2}) {
		t.Errorf("full: %v", e)
	}
	if e := lerr["gone@example.test"]; e == nil || e.Code != 550 {
		t.Errorf("gone: %v", e)
	}
	got := e.deliv.got()
	if len(got) != 1 || got[0].env.Session.Role != RoleLMTP || got[0].env.Session.RemoteAddr.IsValid() {
		t.Fatalf("delivered %+v", got)
	}
	if h := ReceivedHeader(got[0].env); !strings.Contains(h, " with LMTP id ") {
		t.Errorf("Received: %q", h)
	}
}

// testCert makes a self-signed certificate for 127.0.0.1 and localhost.
func testCert(t *testing.T) (tls.Certificate, *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "mx.example.test"},
		DNSNames:     []string{"localhost", "mx.example.test"},
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1)},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	leaf, _ := x509.ParseCertificate(der)
	pool := x509.NewCertPool()
	pool.AddCert(leaf)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}, pool
}

func TestSTARTTLS(t *testing.T) {
	t.Parallel()
	cert, pool := testCert(t)
	e := start(t, func(o *Options) {
		o.TLSConfig = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	})
	raw := e.dial(t)
	raw.expect("220 ")
	if ehlo := raw.cmd("EHLO mail.example.org", "250"); !strings.Contains(ehlo, "STARTTLS") || strings.Contains(ehlo, "AUTH") {
		t.Fatalf("EHLO before TLS:\n%s", ehlo)
	}

	c, err := smtp.Dial(e.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Hello("mail.example.org"); err != nil {
		t.Fatal(err)
	}
	if err := c.StartTLS(&tls.Config{RootCAs: pool, ServerName: "mx.example.test"}); err != nil {
		t.Fatal(err)
	}
	if ok, _ := c.Extension("STARTTLS"); ok {
		t.Error("STARTTLS offered again inside TLS")
	}
	if err := c.Mail("bob@example.org"); err != nil {
		t.Fatal(err)
	}
	if err := c.Rcpt("alice@example.test"); err != nil {
		t.Fatal(err)
	}
	w, err := c.Data()
	if err != nil {
		t.Fatal(err)
	}
	w.Write([]byte(msg("secret\r\n")))
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	got := e.deliv.got()
	if len(got) != 1 || got[0].env.Session.TLS == nil {
		t.Fatalf("delivered %+v", got)
	}
	h := ReceivedHeader(got[0].env)
	for _, want := range []string{"Received: from mail.example.org (", "[127.0.0.1])", "(using TLSv1.3 with cipher TLS_", "by mx.example.test with UTF8SMTPS id ", "for <alice@example.test>; "} {
		if !strings.Contains(h, want) {
			t.Errorf("Received lacks %q:\n%s", want, h)
		}
	}
	helo := e.logs.wait(t, func(r logRec) bool { return r.msg == "helo" && r.attrs[KeyTLS] != "" })
	if helo.attrs[KeyTLS] != "TLSv1.3" || helo.attrs[KeyCipher] == "" {
		t.Errorf("helo line %v", helo.attrs)
	}
}
