package dnsrecords

import (
	"crypto/x509"
	"encoding/pem"
	"os"
	"path/filepath"
	"strings"

	"github.com/postern/postern/server/config"
	"github.com/postern/postern/smtp/relay"
)

// FromConfig fills Options for domain from a server config: the hostname, the relay
// preset whose host is [relay] host, and the certificate the server serves (the cert
// file, the ACME certificate for hostname, or the self-signed one), if it can be read.
func FromConfig(cfg *config.Config, domain string) Options {
	o := Options{Domain: domain, Hostname: cfg.Hostname, TLSRPT: true}
	if cfg.MTASTS.Mode != "" {
		o.MTASTS, o.MTASTSID = true, cfg.MTASTSPolicyID()
	}
	if cfg.Relay != nil {
		for _, p := range relay.Presets() {
			if strings.EqualFold(p.Host, cfg.Relay.Host) {
				o.Relay = p.Name
			}
		}
	}
	o.Cert = servedCert(cfg)
	return o
}

func servedCert(cfg *config.Config) *x509.Certificate {
	var candidates []string
	switch {
	case cfg.TLS.Cert != "":
		candidates = []string{cfg.TLS.Cert}
	case cfg.TLS.ACME != nil:
		// certmagic's layout: acme/certificates/ISSUER/NAME/NAME.crt
		candidates, _ = filepath.Glob(filepath.Join(cfg.StateDir, "acme", "certificates", "*", cfg.Hostname, cfg.Hostname+".crt"))
	}
	candidates = append(candidates, filepath.Join(cfg.TLSDir(), "selfsigned.crt"))
	for _, f := range candidates {
		data, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		if b, _ := pem.Decode(data); b != nil {
			if c, err := x509.ParseCertificate(b.Bytes); err == nil {
				return c
			}
		}
	}
	return nil
}
