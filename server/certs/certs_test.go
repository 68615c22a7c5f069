package certs

import (
	"crypto/tls"
	"crypto/x509"
	"io"
	"log/slog"
	"os"
	"path/filepath"
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
