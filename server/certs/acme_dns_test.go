package certs

import (
	"strings"
	"testing"

	"github.com/libdns/hetzner/v2"

	"github.com/postern/postern/server/config"
)

// TestDNSProviders: every provider the config accepts builds, and a missing credential
// is named in the error.
func TestDNSProviders(t *testing.T) {
	t.Parallel()
	full := config.DNSCredentials{APIToken: "t", Token: "t", ServerURL: "https://ns.example.test", Server: "127.0.0.1:53",
		KeyName: "k.", KeyAlg: "hmac-sha256", Key: "a2V5"}
	for _, name := range []string{"rfc2136", "powerdns", "cloudflare", "hetzner", "digitalocean", "desec"} {
		p, err := dnsProvider(name, full)
		if err != nil || p == nil {
			t.Errorf("%s: %v", name, err)
		}
		if _, err := dnsProvider(name, config.DNSCredentials{}); err == nil || !strings.Contains(err.Error(), name+" needs") {
			t.Errorf("%s without credentials: %v", name, err)
		}
	}
	// Hetzner's Cloud DNS API (libdns/hetzner v2), not the DNS API Hetzner shut down.
	if p, _ := dnsProvider("hetzner", full); p.(*hetzner.Provider).APIToken != "t" {
		t.Errorf("hetzner provider %T without the token", p)
	}
	if _, err := dnsProvider("route53", full); err == nil {
		t.Error("an unknown provider was accepted")
	}
}
