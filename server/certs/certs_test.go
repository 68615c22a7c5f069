package certs

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func discardLog() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// handshake dials a TLS listener that uses cfg and returns the leaf the client saw.
// serverName "" sends no SNI, as Postfix does by default.
func handshake(t *testing.T, cfg *tls.Config, serverName string, clientMax uint16) (*x509.Certificate, error) {
	t.Helper()
	ln, err := tls.Listen("tcp", "127.0.0.1:0", cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		c, err := ln.Accept()
		if err == nil {
			_ = c.(*tls.Conn).Handshake()
			c.Close()
		}
	}()
	c, err := tls.Dial("tcp", ln.Addr().String(), &tls.Config{InsecureSkipVerify: true, ServerName: serverName, MaxVersion: clientMax})
	if err != nil {
		return nil, err
	}
	defer c.Close()
	return c.ConnectionState().PeerCertificates[0], nil
}

func TestSelfSignedGeneratedOnceAndKept(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	src := Source{SelfSigned: true, Hostname: "mail.example.test", Dir: dir}
	m, err := New(src, nil, discardLog(), time.Now)
	if err != nil {
		t.Fatal(err)
	}
	leaf, err := handshake(t, m.TLSConfig(0), "", 0)
	if err != nil {
		t.Fatal(err)
	}
	if err := leaf.VerifyHostname("mail.example.test"); err != nil {
		t.Fatalf("self-signed certificate without SNI: %v", err)
	}
	fi, err := os.Stat(filepath.Join(dir, "selfsigned.key"))
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("key file: %v %v, want mode 0600", fi, err)
	}
	// A second start keeps the same certificate (clients that pinned it keep working).
	m2, err := New(src, nil, discardLog(), time.Now)
	if err != nil {
		t.Fatal(err)
	}
	leaf2, _ := handshake(t, m2.TLSConfig(0), "other.name", 0)
	if !leaf.Equal(leaf2) {
		t.Fatal("self-signed certificate regenerated on restart")
	}
	// A new hostname gets a new certificate.
	src.Hostname = "mx.example.test"
	m3, err := New(src, nil, discardLog(), time.Now)
	if err != nil {
		t.Fatal(err)
	}
	leaf3, _ := handshake(t, m3.TLSConfig(0), "", 0)
	if leaf3.VerifyHostname("mx.example.test") != nil {
		t.Fatal("hostname change did not regenerate the certificate")
	}
}

func TestCertFilesReloadedAndBadReloadKeepsOld(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	certFile, keyFile := filepath.Join(dir, "mail.crt"), filepath.Join(dir, "mail.key")
	write := func(host string) {
		c, k, err := selfSignedPEM(host, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(certFile, c, 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(keyFile, k, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write("one.example.test")
	m, err := New(Source{CertFile: certFile, KeyFile: keyFile}, nil, discardLog(), time.Now)
	if err != nil {
		t.Fatal(err)
	}
	cfg := m.TLSConfig(0)
	leaf, _ := handshake(t, cfg, "", 0)
	if leaf.VerifyHostname("one.example.test") != nil {
		t.Fatal("first certificate not served")
	}
	// Renewal: new files with a different size/mtime are picked up without a restart, by
	// the same *tls.Config every listener holds.
	later := time.Now().Add(2 * time.Second)
	write("two.example.test")
	_ = os.Chtimes(certFile, later, later)
	m.ReloadIfChanged()
	leaf, _ = handshake(t, cfg, "", 0)
	if leaf.VerifyHostname("two.example.test") != nil {
		t.Fatal("renewed certificate not served after ReloadIfChanged")
	}
	// A broken renewal (key does not match) is refused and the old certificate stays.
	c, _, _ := selfSignedPEM("three.example.test", time.Now())
	if err := os.WriteFile(certFile, c, 0o644); err != nil {
		t.Fatal(err)
	}
	later = later.Add(2 * time.Second)
	_ = os.Chtimes(certFile, later, later)
	m.ReloadIfChanged()
	if err := m.Reload(); err == nil {
		t.Fatal("mismatched key accepted")
	}
	leaf, _ = handshake(t, cfg, "", 0)
	if leaf.VerifyHostname("two.example.test") != nil {
		t.Fatal("a failed reload replaced the serving certificate")
	}
	// The failure stays known (for the alerts) until a reload succeeds.
	if fs := m.Failures(); len(fs) != 1 || fs[0].Name != certFile || fs[0].Remaining <= 0 || !strings.Contains(fs[0].Err, "private key") {
		t.Fatalf("failures after a broken renewal: %+v", fs)
	}
	write("four.example.test")
	if err := m.Reload(); err != nil || len(m.Failures()) != 0 {
		t.Fatalf("a good reload left failures: %v %+v", err, m.Failures())
	}
}

// TestACMEFailuresUntilObtained: certmagic's cert_failed event is remembered per name,
// with the time the current certificate has left, until cert_obtained for that name.
func TestACMEFailuresUntilObtained(t *testing.T) {
	t.Parallel()
	a := &ACME{log: discardLog()}
	m := &Manager{acme: a, log: discardLog(), now: time.Now}
	a.onEvent(context.Background(), "cert_failed", map[string]any{"identifier": "mail.example.test", "renewal": true,
		"remaining": 72 * time.Hour, "error": errors.New("connection refused")})
	fs := m.Failures()
	if len(fs) != 1 || fs[0].Name != "mail.example.test" || fs[0].Remaining != 72*time.Hour || fs[0].Err != "connection refused" {
		t.Fatalf("failures %+v", fs)
	}
	a.onEvent(context.Background(), "cert_obtained", map[string]any{"identifier": "other.example.test"})
	if len(m.Failures()) != 1 {
		t.Fatal("another name's success cleared the failure")
	}
	a.onEvent(context.Background(), "cert_obtained", map[string]any{"identifier": "mail.example.test", "renewal": true})
	if fs := m.Failures(); len(fs) != 0 {
		t.Fatalf("failures after the renewal: %+v", fs)
	}
}

func TestTLSConfigRefusesOldVersions(t *testing.T) {
	t.Parallel()
	m, err := New(Source{SelfSigned: true, Hostname: "mail.example.test", Dir: t.TempDir()}, nil, discardLog(), time.Now)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := handshake(t, m.TLSConfig(tls.VersionTLS10), "", tls.VersionTLS11); err == nil {
		t.Fatal("TLS 1.1 handshake succeeded; TLS 1.2 is the minimum")
	}
	if _, err := handshake(t, m.TLSConfig(tls.VersionTLS13), "", tls.VersionTLS12); err == nil {
		t.Fatal("min_version 1.3 accepted a TLS 1.2 client")
	}
	if _, err := handshake(t, m.TLSConfig(0), "", tls.VersionTLS12); err != nil {
		t.Fatalf("TLS 1.2: %v", err)
	}
}

func TestNoCertificateConfigured(t *testing.T) {
	t.Parallel()
	if _, err := New(Source{Hostname: "x.example"}, nil, discardLog(), time.Now); err == nil {
		t.Fatal("no certificate and self_signed off must fail the start")
	}
}
