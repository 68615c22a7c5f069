package server

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"log/slog"
	"math/big"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/postern/postern/store/durable"
)

// certSource says where the certificate comes from: files the admin manages, or a
// self-signed certificate for hostname that we generate once and keep under state_dir, so
// a fresh install serves TLS before ACME or real certificates are set up.
type certSource struct {
	CertFile, KeyFile string // PEM; the cert file may hold the chain
	SelfSigned        bool
	Hostname          string
	Dir               string // where self-signed material is kept (state_dir/tls)
}

// certManager holds the current certificate and swaps it atomically on reload, so every
// TLS listener picks up a renewed certificate at its next handshake without a restart.
// A reload that fails keeps the old certificate serving and logs why.
type certManager struct {
	src    certSource
	log    *slog.Logger
	now    func() time.Time
	cert   atomic.Pointer[tls.Certificate]
	mu     sync.Mutex // serialises reloads
	loaded fileStamp
	acme   *acmeManager // when set, its certificates come first (set before listeners serve)
}

type fileStamp struct {
	certMod, keyMod   time.Time
	certSize, keySize int64
}

func newCertManager(src certSource, log *slog.Logger, now func() time.Time) (*certManager, error) {
	m := &certManager{src: src, log: log, now: now}
	if err := m.Reload(); err != nil {
		return nil, err
	}
	return m, nil
}

// Reload (re)reads the certificate. Called at start, on SIGHUP and when the files change.
func (m *certManager) Reload() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	certFile, keyFile := m.src.CertFile, m.src.KeyFile
	if m.src.CertFile == "" {
		if !m.src.SelfSigned {
			return errors.New("tls: no certificate configured (set [tls] cert and key, or self_signed = true)")
		}
		var err error
		certFile, keyFile, err = ensureSelfSigned(m.src.Dir, m.src.Hostname, m.now())
		if err != nil {
			return err
		}
	}
	stamp, err := stampFiles(certFile, keyFile)
	if err != nil {
		return err
	}
	c, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		return fmt.Errorf("tls: loading %s and %s: %w", certFile, keyFile, err)
	}
	if c.Leaf != nil && m.now().After(c.Leaf.NotAfter) {
		m.log.Warn("tls certificate has expired", "cert", certFile, "not_after", c.Leaf.NotAfter)
	}
	m.cert.Store(&c)
	m.loaded = stamp
	var names []string
	var notAfter time.Time
	if c.Leaf != nil {
		names, notAfter = c.Leaf.DNSNames, c.Leaf.NotAfter
	}
	m.log.Info("tls certificate loaded", "cert", certFile, "names", names, "not_after", notAfter)
	return nil
}

// ReloadIfChanged reloads when the configured files' size or mtime moved. Errors are logged
// and the old certificate stays.
func (m *certManager) ReloadIfChanged() {
	if m.src.CertFile == "" {
		return
	}
	stamp, err := stampFiles(m.src.CertFile, m.src.KeyFile)
	m.mu.Lock()
	same := err == nil && stamp == m.loaded
	m.mu.Unlock()
	if same {
		return
	}
	if err := m.Reload(); err != nil {
		m.log.Error("tls certificate reload failed; keeping the old one", "err", err)
	}
}

func stampFiles(certFile, keyFile string) (fileStamp, error) {
	ci, err := os.Stat(certFile)
	if err != nil {
		return fileStamp{}, fmt.Errorf("tls: %w", err)
	}
	ki, err := os.Stat(keyFile)
	if err != nil {
		return fileStamp{}, fmt.Errorf("tls: %w", err)
	}
	return fileStamp{ci.ModTime(), ki.ModTime(), ci.Size(), ki.Size()}, nil
}

// TLSConfig returns a server config that always serves the current certificate, whatever
// SNI the client sends or omits (Postfix sends none by default).
func (m *certManager) TLSConfig(minVersion uint16) *tls.Config {
	if minVersion < tls.VersionTLS12 {
		minVersion = tls.VersionTLS12
	}
	return &tls.Config{
		MinVersion:     minVersion,
		GetCertificate: m.current,
	}
}

// current is the certificate for a handshake: the ACME one for the client's name (or
// for hostname, when the client sent no SNI) once there is one, else the loaded one.
func (m *certManager) current(hello *tls.ClientHelloInfo) (*tls.Certificate, error) {
	if m.acme != nil {
		if c := m.acme.certificateFor(hello); c != nil {
			return c, nil
		}
	}
	return m.cert.Load(), nil
}

// ensureSelfSigned returns the self-signed pair for hostname in dir, generating it when it
// is missing or was made for another name.
func ensureSelfSigned(dir, hostname string, now time.Time) (certFile, keyFile string, err error) {
	certFile = filepath.Join(dir, "selfsigned.crt")
	keyFile = filepath.Join(dir, "selfsigned.key")
	if pemBytes, err := os.ReadFile(certFile); err == nil {
		if b, _ := pem.Decode(pemBytes); b != nil {
			if c, err := x509.ParseCertificate(b.Bytes); err == nil && c.VerifyHostname(hostname) == nil && now.Before(c.NotAfter) {
				if _, err := os.Stat(keyFile); err == nil {
					return certFile, keyFile, nil
				}
			}
		}
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", "", fmt.Errorf("tls: %w", err)
	}
	certPEM, keyPEM, err := selfSignedPEM(hostname, now)
	if err != nil {
		return "", "", err
	}
	// Key first: a crash between the two writes leaves a key with no cert, which the next
	// start regenerates; never a cert whose key is missing.
	if err := durable.WriteFile(keyFile, keyPEM, 0o600); err != nil {
		return "", "", fmt.Errorf("tls: %w", err)
	}
	if err := durable.WriteFile(certFile, certPEM, 0o644); err != nil {
		return "", "", fmt.Errorf("tls: %w", err)
	}
	return certFile, keyFile, nil
}

func selfSignedPEM(hostname string, now time.Time) (certPEM, keyPEM []byte, err error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, fmt.Errorf("tls: %w", err)
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		return nil, nil, fmt.Errorf("tls: %w", err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: hostname, Organization: []string{"Postern self-signed"}},
		DNSNames:              []string{hostname},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.AddDate(5, 0, 0),
		KeyUsage:              x509.KeyUsageDigitalSignature,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, nil, fmt.Errorf("tls: %w", err)
	}
	kder, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		return nil, nil, fmt.Errorf("tls: %w", err)
	}
	var cb, kb bytes.Buffer
	_ = pem.Encode(&cb, &pem.Block{Type: "CERTIFICATE", Bytes: der})
	_ = pem.Encode(&kb, &pem.Block{Type: "EC PRIVATE KEY", Bytes: kder})
	return cb.Bytes(), kb.Bytes(), nil
}
