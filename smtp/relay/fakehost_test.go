package relay

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"io"
	"log"
	"log/slog"
	"math/big"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	gosmtp "github.com/emersion/go-smtp"
)

// fakeHost is an in-process smart host on go-smtp's server: STARTTLS on one
// listener, implicit TLS on another, AUTH PLAIN and LOGIN, and failures on
// demand.
type fakeHost struct {
	startTLSAddr string
	implicitAddr string
	plainAddr    string // no TLS offered at all
	pool         *x509.CertPool

	mu       sync.Mutex
	mechs    []string
	user     string
	pass     string
	failMail *gosmtp.SMTPError
	failRcpt map[string]*gosmtp.SMTPError
	failData *gosmtp.SMTPError
	authErr  *gosmtp.SMTPError
	sessions atomic.Int32
	msgs     chan received
}

type received struct {
	from   string
	rcpts  []string
	data   string
	authed string
	tls    bool
}

func newFakeHost(t *testing.T) *fakeHost {
	t.Helper()
	cert, pool := testCert(t, "smtp.test", "smtp.fastmail.com")
	f := &fakeHost{pool: pool, mechs: []string{sasl.Plain, sasl.Login}, user: "me@example.com", pass: "app-password",
		failRcpt: map[string]*gosmtp.SMTPError{}, msgs: make(chan received, 100)}
	tlsCfg := &tls.Config{Certificates: []tls.Certificate{cert}}
	serve := func(l net.Listener, withTLS bool) string {
		s := gosmtp.NewServer(gosmtp.BackendFunc(func(c *gosmtp.Conn) (gosmtp.Session, error) {
			f.sessions.Add(1)
			return &fakeSession{f: f, c: c}, nil
		}))
		s.Domain = "smtp.test"
		s.ErrorLog = log.New(io.Discard, "", 0)
		if withTLS {
			s.TLSConfig = tlsCfg
		}
		go s.Serve(l)
		t.Cleanup(func() { s.Close() })
		return l.Addr().String()
	}
	listen := func() net.Listener {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		return l
	}
	f.startTLSAddr = serve(listen(), true)
	f.implicitAddr = serve(tls.NewListener(listen(), tlsCfg), false)
	f.plainAddr = serve(listen(), false)
	return f
}

func (f *fakeHost) set(fn func(f *fakeHost)) {
	f.mu.Lock()
	defer f.mu.Unlock()
	fn(f)
}

func (f *fakeHost) next(t *testing.T) received {
	t.Helper()
	select {
	case m := <-f.msgs:
		return m
	case <-time.After(10 * time.Second):
		t.Fatal("no message arrived")
		return received{}
	}
}

type fakeSession struct {
	f      *fakeHost
	c      *gosmtp.Conn
	authed string
	cur    received
}

func (s *fakeSession) AuthMechanisms() []string {
	s.f.mu.Lock()
	defer s.f.mu.Unlock()
	return s.f.mechs
}

func (s *fakeSession) Auth(mech string) (sasl.Server, error) {
	check := func(user, pass string) error {
		s.f.mu.Lock()
		defer s.f.mu.Unlock()
		if s.f.authErr != nil {
			return s.f.authErr
		}
		if user != s.f.user || pass != s.f.pass {
			return &gosmtp.SMTPError{Code: 535, EnhancedCode: gosmtp.EnhancedCode{5, 7, 8}, Message: "Authentication failed"}
		}
		s.authed = mech + ":" + user
		return nil
	}
	switch mech {
	case sasl.Plain:
		return sasl.NewPlainServer(func(identity, user, pass string) error { return check(user, pass) }), nil
	case sasl.Login:
		return &loginServer{check: check}, nil
	}
	return nil, gosmtp.ErrAuthUnknownMechanism
}

// loginServer is the server side of AUTH LOGIN, which go-sasl lacks.
type loginServer struct {
	step  int
	user  string
	check func(user, pass string) error
}

func (l *loginServer) Next(resp []byte) ([]byte, bool, error) {
	l.step++
	switch l.step {
	case 1:
		if len(resp) > 0 { // initial response carries the user name
			l.user = string(resp)
			l.step++
			return []byte("Password:"), false, nil
		}
		return []byte("Username:"), false, nil
	case 2:
		l.user = string(resp)
		return []byte("Password:"), false, nil
	default:
		return nil, true, l.check(l.user, string(resp))
	}
}

func (s *fakeSession) Mail(from string, _ *gosmtp.MailOptions) error {
	s.f.mu.Lock()
	defer s.f.mu.Unlock()
	if s.f.user != "" && s.authed == "" && len(s.f.mechs) > 0 {
		return &gosmtp.SMTPError{Code: 530, EnhancedCode: gosmtp.EnhancedCode{5, 7, 0}, Message: "Authentication required"}
	}
	if s.f.failMail != nil {
		return s.f.failMail
	}
	_, s.cur.tls = s.c.TLSConnectionState()
	s.cur.from, s.cur.authed = from, s.authed
	return nil
}

func (s *fakeSession) Rcpt(to string, _ *gosmtp.RcptOptions) error {
	s.f.mu.Lock()
	defer s.f.mu.Unlock()
	if e := s.f.failRcpt[to]; e != nil {
		return e
	}
	s.cur.rcpts = append(s.cur.rcpts, to)
	return nil
}

func (s *fakeSession) Data(r io.Reader) error {
	b, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	s.f.mu.Lock()
	fail := s.f.failData
	s.f.mu.Unlock()
	if fail != nil {
		return fail
	}
	s.cur.data = string(b)
	s.f.msgs <- s.cur
	s.cur = received{}
	return nil
}

func (s *fakeSession) Reset()        { s.cur = received{} }
func (s *fakeSession) Logout() error { return nil }

// testCert makes a self-signed certificate for name and a pool trusting it.
func testCert(t *testing.T, name string, more ...string) (tls.Certificate, *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: name}, DNSNames: append([]string{name}, more...),
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign, IsCA: true, BasicConstraintsValid: true,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
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

// fixedDialer sends every dial to one address and counts dials.
type fixedDialer struct {
	addr  string
	dials atomic.Int32
}

func (d *fixedDialer) DialContext(ctx context.Context, network, _ string) (net.Conn, error) {
	d.dials.Add(1)
	var nd net.Dialer
	return nd.DialContext(ctx, network, d.addr)
}

func quietLogger() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

func slogTo(w io.Writer) *slog.Logger {
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: slog.LevelDebug}))
}
