package smtp

import (
	"bufio"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"strings"
	"sync"
	"testing"
	"time"
)

// testAuth knows alice (password "secret") and locked (always locked out); it
// records every password it is given so a test can look for them in the log.
type testAuth struct {
	mu    sync.Mutex
	calls int
}

const alicePassword = "s3cret-Pa55"

func (a *testAuth) Authenticate(_ context.Context, s *Session, username, password string) (string, error) {
	a.mu.Lock()
	a.calls++
	a.mu.Unlock()
	if s == nil || s.TLS == nil {
		panic("Authenticate called without TLS")
	}
	switch {
	case strings.EqualFold(username, "alice@example.test") && password == alicePassword:
		return "alice@example.test", nil
	case username == "boom@example.test":
		panic("authenticator exploded")
	case username == "locked@example.test":
		return "", Reply(454, [3]int{4, 7, 0}, "Temporary authentication failure, try again later")
	}
	return "", context.DeadlineExceeded // any non-reply error means bad credentials
}

func (a *testAuth) count() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.calls
}

// testSenders lets alice use her address and the alias info@example.test.
type testSenders struct{}

func (testSenders) MaySend(_ context.Context, user, address string) (bool, error) {
	if user != "alice@example.test" {
		return false, nil
	}
	return address == "alice@example.test" || address == "info@example.test", nil
}

// submissionPolicy accepts any recipient of an authenticated user except at
// blocked.example, so a test can see that the Policy is still asked.
type submissionPolicy struct{}

func (submissionPolicy) CheckRecipient(_ context.Context, s *Session, _ string, rcpt string) error {
	switch {
	case s.User == "":
		return Reply(554, [3]int{5, 7, 1}, "<%s>: Relay access denied", rcpt)
	case strings.HasSuffix(rcpt, "@blocked.example"):
		return Reply(554, [3]int{5, 7, 1}, "<%s>: Recipient address rejected: blocked", rcpt)
	}
	return nil
}

type submissionEnv struct {
	*testEnv
	auth *testAuth
	pool *x509.CertPool
}

// startSubmission runs a submission server (role RoleSubmission or
// RoleSubmissions) on 127.0.0.1:0.
func startSubmission(t *testing.T, role Role, edit func(*Options)) *submissionEnv {
	t.Helper()
	cert, pool := testCert(t)
	auth := &testAuth{}
	e := start(t, func(o *Options) {
		o.Role = role
		o.TLSConfig = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
		o.Authenticator = auth
		o.SenderPolicy = testSenders{}
		o.Policy = submissionPolicy{}
		if edit != nil {
			edit(o)
		}
	})
	return &submissionEnv{testEnv: e, auth: auth, pool: pool}
}

func (e *submissionEnv) clientTLS() *tls.Config {
	return &tls.Config{RootCAs: e.pool, ServerName: "mx.example.test"}
}

// starttls sends STARTTLS on a raw client and continues it over TLS.
func (e *submissionEnv) starttls(c *rawClient) {
	c.t.Helper()
	c.cmd("STARTTLS", "220")
	tc := tls.Client(c.conn, e.clientTLS())
	if err := tc.Handshake(); err != nil {
		c.t.Fatalf("TLS handshake: %v", err)
	}
	c.conn, c.r = tc, bufio.NewReader(tc)
}

// dialTLS opens a raw client over implicit TLS (port 465 style).
func (e *submissionEnv) dialTLS(t *testing.T) *rawClient {
	t.Helper()
	c := e.dial(t)
	tc := tls.Client(c.conn, e.clientTLS())
	tc.SetDeadline(time.Now().Add(20 * time.Second))
	if err := tc.Handshake(); err != nil {
		t.Fatalf("TLS handshake: %v", err)
	}
	c.conn, c.r = tc, bufio.NewReader(tc)
	return c
}

// plainIR is the base64 PLAIN initial response for user and password.
func plainIR(user, pass string) string {
	return base64.StdEncoding.EncodeToString([]byte("\x00" + user + "\x00" + pass))
}

func b64(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }

// loginTLS greets, upgrades with STARTTLS and authenticates as alice.
func (e *submissionEnv) loginTLS(t *testing.T) *rawClient {
	t.Helper()
	c := e.dial(t)
	c.greet("client.example.org")
	e.starttls(c)
	c.cmd("EHLO client.example.org", "250")
	c.cmd("AUTH PLAIN "+plainIR("alice@example.test", alicePassword), "235 2.0.0")
	return c
}

// sendRaw runs one transaction on an authenticated raw client and returns the
// reply to the final dot.
func (c *rawClient) sendRaw(from, to, text, want string) string {
	c.t.Helper()
	c.cmd("MAIL FROM:<"+from+">", "250")
	c.cmd("RCPT TO:<"+to+">", "250")
	c.cmd("DATA", "354")
	c.send(text + ".\r\n")
	return c.expect(want)
}
