package integration

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net/smtp"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// writeCert writes a self-signed certificate for name to certFile and keyFile.
func writeCert(t *testing.T, name, certFile, keyFile string) {
	t.Helper()
	writeCertUntil(t, name, certFile, keyFile, time.Now().Add(24*time.Hour))
}

// writeCertUntil is writeCert with a certificate valid until notAfter.
func writeCertUntil(t *testing.T, name, certFile, keyFile string, notAfter time.Time) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: pkix.Name{CommonName: name},
		DNSNames: []string{name}, NotBefore: time.Now().Add(-time.Hour), NotAfter: notAfter,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kder, _ := x509.MarshalECPrivateKey(key)
	var c, k bytes.Buffer
	_ = pem.Encode(&c, &pem.Block{Type: "CERTIFICATE", Bytes: der})
	_ = pem.Encode(&k, &pem.Block{Type: "EC PRIVATE KEY", Bytes: kder})
	if err := os.WriteFile(certFile, c.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, k.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
}

// servedName does EHLO + STARTTLS on the SMTP listener, sending no SNI as Postfix does,
// and returns the name in the certificate the server presented.
func servedName(t *testing.T, addr string) string {
	t.Helper()
	c, err := smtp.Dial(addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Hello("client.example.org"); err != nil {
		t.Fatal(err)
	}
	if err := c.StartTLS(&tls.Config{InsecureSkipVerify: true}); err != nil {
		t.Fatal(err)
	}
	st, _ := c.TLSConnectionState()
	if st.Version < tls.VersionTLS12 {
		t.Fatalf("TLS version %x below 1.2", st.Version)
	}
	return st.PeerCertificates[0].Subject.CommonName
}

// TestSIGHUPReloadsCertificate: a renewed certificate is served after SIGHUP without a
// restart, and a broken config on SIGHUP is refused while the server keeps running.
func TestSIGHUPReloadsCertificate(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	certFile, keyFile := filepath.Join(dir, "mail.crt"), filepath.Join(dir, "mail.key")
	writeCert(t, "first.example.test", certFile, keyFile)
	s := NewServer(t, Options{NoStart: true})
	cfg, err := os.ReadFile(s.Config)
	if err != nil {
		t.Fatal(err)
	}
	cfgText := strings.Replace(string(cfg), "[tls]\nself_signed = true\n",
		fmt.Sprintf("[tls]\ncert = %q\nkey = %q\n", certFile, keyFile), 1)
	if err := os.WriteFile(s.Config, []byte(cfgText), 0o644); err != nil {
		t.Fatal(err)
	}
	s.Start()
	if got := servedName(t, s.Addrs["smtp"]); got != "first.example.test" {
		t.Fatalf("served %q", got)
	}
	pidBefore := s.cmd.Process.Pid

	writeCert(t, "second.example.test", certFile, keyFile)
	if _, err := s.Signal(syscall.SIGHUP, 0); err != nil {
		t.Fatal(err)
	}
	// The reload is asynchronous to the signal: ask until the new name is served, bounded.
	deadline := time.Now().Add(10 * time.Second)
	for servedName(t, s.Addrs["smtp"]) != "second.example.test" {
		if time.Now().After(deadline) {
			t.Fatal("renewed certificate not served 10 s after SIGHUP")
		}
		time.Sleep(50 * time.Millisecond)
	}

	// A typo in the config: SIGHUP logs the refusal and the running config stays.
	if err := os.WriteFile(s.Config, []byte(cfgText+"\n[smtp]\nbogus_key = 1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Signal(syscall.SIGHUP, 0); err != nil {
		t.Fatal(err)
	}
	deadline = time.Now().Add(10 * time.Second)
	for !logContains(s, "config refused") {
		if time.Now().After(deadline) {
			t.Fatal("no log line about the refused config")
		}
		time.Sleep(50 * time.Millisecond)
	}
	if !s.Running() || s.cmd.Process.Pid != pidBefore {
		t.Fatal("server did not survive a bad reload")
	}
	// The CLI reads the config to find the socket: with the file fixed it reaches the
	// daemon, which kept serving through the refused reload.
	if err := os.WriteFile(s.Config, []byte(cfgText), 0o644); err != nil {
		t.Fatal(err)
	}
	s.MustCLI("status")
	if got := servedName(t, s.Addrs["smtp"]); got != "second.example.test" {
		t.Fatalf("after the refused reload the server serves %q", got)
	}
}

func logContains(s *Server, sub string) bool {
	for _, l := range s.Log() {
		if strings.Contains(l, sub) {
			return true
		}
	}
	return false
}
