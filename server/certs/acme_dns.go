package certs

import (
	"fmt"

	"github.com/caddyserver/certmagic"
	"github.com/libdns/cloudflare"
	"github.com/libdns/desec"
	"github.com/libdns/digitalocean"
	"github.com/libdns/hetzner/v2"
	"github.com/libdns/powerdns"
	"github.com/libdns/rfc2136"

	"github.com/postern/postern/server/config"
)

// dnsSolver builds the dns-01 solver for the configured libdns provider. resolvers are
// the [dns] servers, used to check that the TXT record has propagated.
func dnsSolver(a *config.ACME, resolvers []string) (*certmagic.DNS01Solver, error) {
	c, err := a.ReadDNSCredentials()
	if err != nil {
		return nil, err
	}
	p, err := dnsProvider(a.DNSProvider, c)
	if err != nil {
		return nil, err
	}
	return &certmagic.DNS01Solver{DNSManager: certmagic.DNSManager{DNSProvider: p, Resolvers: resolvers}}, nil
}

func dnsProvider(name string, c config.DNSCredentials) (certmagic.DNSProvider, error) {
	need := func(field, v string) error {
		if v == "" {
			return fmt.Errorf("dns_credentials: %s needs %s", name, field)
		}
		return nil
	}
	switch name {
	case "cloudflare":
		return &cloudflare.Provider{APIToken: c.APIToken}, need("api_token", c.APIToken)
	case "hetzner":
		return hetzner.New(c.APIToken), need("api_token", c.APIToken)
	case "digitalocean":
		return &digitalocean.Provider{APIToken: c.APIToken}, need("api_token", c.APIToken)
	case "desec":
		return &desec.Provider{Token: c.Token}, need("token", c.Token)
	case "powerdns":
		id := c.ServerID
		if id == "" {
			id = "localhost"
		}
		if err := need("server_url", c.ServerURL); err != nil {
			return nil, err
		}
		return &powerdns.Provider{ServerURL: c.ServerURL, ServerID: id, APIToken: c.APIToken}, need("api_token", c.APIToken)
	case "rfc2136":
		for _, f := range [][2]string{{"server", c.Server}, {"key_name", c.KeyName}, {"key_alg", c.KeyAlg}, {"key", c.Key}} {
			if err := need(f[0], f[1]); err != nil {
				return nil, err
			}
		}
		return &rfc2136.Provider{Server: c.Server, KeyName: c.KeyName, KeyAlg: c.KeyAlg, Key: c.Key}, nil
	}
	return nil, fmt.Errorf("unknown dns_provider %q", name)
}
