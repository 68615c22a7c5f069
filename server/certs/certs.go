package certs

import (
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"sync/atomic"
	"time"
)

// Source says where the certificate comes from: files the admin manages, or a
// self-signed certificate for Hostname that is generated once and kept under Dir, so a
// fresh install serves TLS before ACME or real certificates are set up.
type Source struct {
	CertFile, KeyFile string // PEM; the cert file may hold the chain
	SelfSigned        bool
	Hostname          string
	Dir               string // where self-signed material is kept (state_dir/tls)
}

// Manager holds the current certificate and swaps it atomically on reload, so every TLS
// listener picks up a renewed certificate at its next handshake without a restart. A
// reload that fails keeps the old certificate serving and logs why.
type Manager struct {
	src    Source
	acme   *ACME // nil without [tls.acme]; its certificates come first
	log    *slog.Logger
	now    func() time.Time
	cert   atomic.Pointer[tls.Certificate]
	mu     sync.Mutex // serialises reloads
	loaded fileStamp
	failed failures // a reload of the files that failed (a broken renewal)
}

type fileStamp struct {
	certMod, keyMod   time.Time
	certSize, keySize int64
}

// New loads the certificate of src. acme, when not nil, is asked first at every
// handshake (see ACME); the loaded certificate serves whenever it has none.
func New(src Source, acme *ACME, log *slog.Logger, now func() time.Time) (*Manager, error) {
	m := &Manager{src: src, acme: acme, log: log, now: now}
	if err := m.Reload(); err != nil {
		return nil, err
	}
	return m, nil
}

// Reload (re)reads the certificate. Called at start, on SIGHUP and when the files change.
// A failure to load the [tls] files is remembered (Failures) until a reload succeeds.
func (m *Manager) Reload() error {
	err := m.load()
	if m.src.CertFile == "" {
		return err
	}
	if err != nil {
		m.failed.set(Failure{Name: m.src.CertFile, At: m.now(), Err: err.Error(), Remaining: m.remaining()})
	} else {
		m.failed.clear(m.src.CertFile)
	}
	return err
}

func (m *Manager) load() error {
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
func (m *Manager) ReloadIfChanged() {
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

// remaining is how long the loaded certificate is still valid.
func (m *Manager) remaining() time.Duration {
	c := m.cert.Load()
	if c == nil || c.Leaf == nil {
		return 0
	}
	return c.Leaf.NotAfter.Sub(m.now())
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
// SNI the client sends or omits (Postfix sends none by default). TLS 1.2 is the floor.
func (m *Manager) TLSConfig(minVersion uint16) *tls.Config {
	if minVersion < tls.VersionTLS12 {
		minVersion = tls.VersionTLS12
	}
	return &tls.Config{
		MinVersion:     minVersion,
		GetCertificate: m.current,
	}
}

// NotAfter is when the certificate served to clients without SNI expires (the metrics'
// certificate expiry gauge).
func (m *Manager) NotAfter() time.Time {
	c, err := m.current(nil)
	if err != nil || c == nil || c.Leaf == nil {
		return time.Time{}
	}
	return c.Leaf.NotAfter
}

// current is the certificate for a handshake: the ACME one for the client's name (or
// for hostname, when the client sent no SNI) once there is one, else the loaded one.
func (m *Manager) current(hello *tls.ClientHelloInfo) (*tls.Certificate, error) {
	if m.acme != nil {
		if c := m.acme.certificateFor(hello); c != nil {
			return c, nil
		}
	}
	return m.cert.Load(), nil
}
