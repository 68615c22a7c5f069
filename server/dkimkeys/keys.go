// Package dkimkeys keeps the DKIM signing keys of our domains (RFC 6376,
// RFC 8463 for ed25519) under one directory, state_dir/dkim:
//
//	DOMAIN/SELECTOR.key   PKCS#8 private key, PEM, mode 0600
//	DOMAIN/active         the selector that signs, one line
//
// Rotation: generate a key with a new selector (the old one keeps signing),
// publish its TXT record, and once it resolves make it active; the old record
// can go when no mail signed with it is still in flight. The first key of a
// domain becomes active at once. Every file is written with the durable-write
// helper; nothing is cached, so a new active key signs the next message.
package dkimkeys

import (
	"crypto"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	"github.com/postern/postern/store/durable"
)

// Algorithms.
const (
	Ed25519 = "ed25519"
	RSA     = "rsa"
	// rsaBits: 2048 is what receivers expect; larger keys overflow some DNS setups.
	rsaBits = 2048
)

// Key is one domain's signing key.
type Key struct {
	Domain   string
	Selector string
	Signer   crypto.Signer
}

// Dir is the key directory (state_dir/dkim).
type Dir string

var selectorRE = regexp.MustCompile(`^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$`)

// ErrNoKey says a domain has no active key.
var ErrNoKey = errors.New("dkimkeys: no active key")

func cleanDomain(domain string) (string, error) {
	d := strings.ToLower(strings.TrimSuffix(domain, "."))
	if d == "" || strings.ContainsAny(d, "/\\\x00 ") || strings.HasPrefix(d, ".") || !strings.Contains(d, ".") {
		return "", fmt.Errorf("dkimkeys: invalid domain %q", domain)
	}
	return d, nil
}

// DefaultSelector names a new key: the date and the algorithm, so that keys
// made on different days never collide ("20260715-ed25519").
func DefaultSelector(now time.Time, algo string) string {
	return now.UTC().Format("20060102") + "-" + algo
}

// Generate makes a key for domain, writes it, and makes it active when the
// domain has no active key yet. An existing selector is never overwritten.
func (d Dir) Generate(domain, selector, algo string) (*Key, bool, error) {
	domain, err := cleanDomain(domain)
	if err != nil {
		return nil, false, err
	}
	if !selectorRE.MatchString(selector) {
		return nil, false, fmt.Errorf("dkimkeys: invalid selector %q (lower-case letters, digits and hyphens)", selector)
	}
	var signer crypto.Signer
	switch algo {
	case Ed25519:
		_, signer, err = ed25519.GenerateKey(rand.Reader)
	case RSA:
		signer, err = rsa.GenerateKey(rand.Reader, rsaBits)
	default:
		return nil, false, fmt.Errorf("dkimkeys: unknown algorithm %q (ed25519 or rsa)", algo)
	}
	if err != nil {
		return nil, false, fmt.Errorf("dkimkeys: generating key: %w", err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(signer)
	if err != nil {
		return nil, false, fmt.Errorf("dkimkeys: %w", err)
	}
	dir := filepath.Join(string(d), domain)
	if err := durable.MkdirAll(dir, 0o700); err != nil {
		return nil, false, fmt.Errorf("dkimkeys: %w", err)
	}
	path := filepath.Join(dir, selector+".key")
	if _, err := os.Stat(path); err == nil {
		return nil, false, fmt.Errorf("dkimkeys: %s already exists; choose another selector", path)
	}
	if err := durable.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), 0o600); err != nil {
		return nil, false, fmt.Errorf("dkimkeys: %w", err)
	}
	activated := false
	if _, err := d.activeSelector(domain); errors.Is(err, ErrNoKey) {
		if err := d.Activate(domain, selector); err != nil {
			return nil, false, err
		}
		activated = true
	}
	return &Key{Domain: domain, Selector: selector, Signer: signer}, activated, nil
}

// Activate makes selector the one that signs domain's mail.
func (d Dir) Activate(domain, selector string) error {
	domain, err := cleanDomain(domain)
	if err != nil {
		return err
	}
	if _, err := d.load(domain, selector); err != nil {
		return err
	}
	return durable.WriteFile(filepath.Join(string(d), domain, "active"), []byte(selector+"\n"), 0o600)
}

func (d Dir) activeSelector(domain string) (string, error) {
	b, err := os.ReadFile(filepath.Join(string(d), domain, "active"))
	if errors.Is(err, os.ErrNotExist) {
		return "", ErrNoKey
	}
	if err != nil {
		return "", fmt.Errorf("dkimkeys: %w", err)
	}
	sel := strings.TrimSpace(string(b))
	if !selectorRE.MatchString(sel) {
		return "", fmt.Errorf("dkimkeys: %s/active names an invalid selector %q", domain, sel)
	}
	return sel, nil
}

// Active returns domain's active key; ErrNoKey when it has none.
func (d Dir) Active(domain string) (*Key, error) {
	domain, err := cleanDomain(domain)
	if err != nil {
		return nil, ErrNoKey
	}
	sel, err := d.activeSelector(domain)
	if err != nil {
		return nil, err
	}
	return d.load(domain, sel)
}

func (d Dir) load(domain, selector string) (*Key, error) {
	if !selectorRE.MatchString(selector) {
		return nil, fmt.Errorf("dkimkeys: invalid selector %q", selector)
	}
	b, err := os.ReadFile(filepath.Join(string(d), domain, selector+".key"))
	if err != nil {
		return nil, fmt.Errorf("dkimkeys: %w", err)
	}
	blk, _ := pem.Decode(b)
	if blk == nil {
		return nil, fmt.Errorf("dkimkeys: %s/%s.key is not PEM", domain, selector)
	}
	k, err := x509.ParsePKCS8PrivateKey(blk.Bytes)
	if err != nil {
		return nil, fmt.Errorf("dkimkeys: %s/%s.key: %w", domain, selector, err)
	}
	signer, ok := k.(crypto.Signer)
	if !ok {
		return nil, fmt.Errorf("dkimkeys: %s/%s.key: unsupported key type", domain, selector)
	}
	switch signer.(type) {
	case ed25519.PrivateKey, *rsa.PrivateKey:
	default:
		return nil, fmt.Errorf("dkimkeys: %s/%s.key: DKIM needs ed25519 or RSA", domain, selector)
	}
	return &Key{Domain: domain, Selector: selector, Signer: signer}, nil
}

// RecordName is where the public key is published: SELECTOR._domainkey.DOMAIN.
func (k *Key) RecordName() string { return k.Selector + "._domainkey." + k.Domain + "." }

// TXT is the DNS TXT record's text (RFC 6376 section 3.6.1).
func (k *Key) TXT() string {
	switch pub := k.Signer.Public().(type) {
	case ed25519.PublicKey:
		return "v=DKIM1; k=ed25519; p=" + base64.StdEncoding.EncodeToString(pub)
	case *rsa.PublicKey:
		der, _ := x509.MarshalPKIXPublicKey(pub)
		return "v=DKIM1; k=rsa; p=" + base64.StdEncoding.EncodeToString(der)
	}
	return ""
}

// ZoneLine is the record in zone-file syntax, split into strings of at most
// 255 octets (RFC 1035 section 3.3.14), as an RSA key needs.
func (k *Key) ZoneLine() string {
	txt := k.TXT()
	var parts []string
	for len(txt) > 255 {
		parts, txt = append(parts, `"`+txt[:255]+`"`), txt[255:]
	}
	parts = append(parts, `"`+txt+`"`)
	return k.RecordName() + " IN TXT " + strings.Join(parts, " ")
}
