package config

import (
	"bytes"
	"fmt"
	"net/url"
	"os"
	"slices"

	toml "github.com/pelletier/go-toml/v2"
)

// ACME configures certificates from an ACME CA ([tls.acme]). When the table is present it
// replaces cert/key and self_signed as the certificate source; a self-signed certificate
// still serves until the first ACME certificate arrives.
type ACME struct {
	Email     string   `toml:"email" example:"postmaster@example.com" doc:"The contact address of the ACME account (the CA sends expiry warnings there)."`
	Directory string   `toml:"directory" example:"letsencrypt" doc:"The CA's directory URL, or \"letsencrypt\" (production) or \"staging\" (Let's Encrypt's staging CA, for trying things out)."`
	Names     []string `toml:"names" type:"array of domain names" example:"" doc:"The names the certificate covers; [] means hostname alone. The first certificate is also served to clients that send no SNI."`
	Challenge string   `toml:"challenge" enum:"tls-alpn-01|http-01|dns-01" example:"tls-alpn-01" doc:"How the CA checks that the names are ours: tls-alpn-01 needs listen.acme_tls (port 443), http-01 listen.acme_http (port 80), dns-01 a DNS provider."`
	CAFile    string   `toml:"ca_file" path:"config" type:"path" example:"" doc:"Extra PEM CA bundle trusted when talking to the ACME directory (a private or test CA such as Pebble); \"\" uses the system CAs."`
	// DNS-01: the provider's settings hold secrets, so they live in their own file.
	DNSProvider    string `toml:"dns_provider" enum:"|rfc2136|powerdns|cloudflare|hetzner|digitalocean|desec" example:"" doc:"The libdns provider that publishes dns-01 TXT records."`
	DNSCredentials string `toml:"dns_credentials" path:"config" type:"path" example:"" doc:"A TOML file (mode 0600 or 0400) with the provider's settings: cloudflare api_token; hetzner api_token (a Hetzner Cloud API token with DNS write access: Hetzner's Cloud DNS API, the old dns.hetzner.com API is gone); digitalocean api_token; desec token; powerdns server_url, api_token, server_id; rfc2136 server, key_name, key_alg, key."`
}

// Well-known ACME directories.
const (
	LetsEncryptProduction = "https://acme-v02.api.letsencrypt.org/directory"
	LetsEncryptStaging    = "https://acme-staging-v02.api.letsencrypt.org/directory"
)

// DefaultACME returns the values a [tls.acme] table starts from.
func DefaultACME() ACME {
	return ACME{Directory: "letsencrypt", Names: []string{}, Challenge: "tls-alpn-01"}
}

// DirectoryURL resolves the "letsencrypt" and "staging" shorthands.
func (a ACME) DirectoryURL() string {
	switch a.Directory {
	case "", "letsencrypt":
		return LetsEncryptProduction
	case "staging":
		return LetsEncryptStaging
	}
	return a.Directory
}

// NamesOr returns names, or hostname alone when names is empty.
func (a ACME) NamesOr(hostname string) []string {
	if len(a.Names) == 0 {
		return []string{hostname}
	}
	return a.Names
}

func (c *Config) validateACME(pr *problems) {
	a := c.TLS.ACME
	if a == nil {
		return
	}
	if c.TLS.Cert != "" || c.TLS.Key != "" {
		pr.addf("tls.acme", "is set together with tls.cert and tls.key; pick one certificate source")
	}
	if u, err := url.Parse(a.DirectoryURL()); err != nil || u.Scheme != "https" || u.Host == "" {
		pr.addf("tls.acme.directory", "%q is not an https:// URL (or \"letsencrypt\", \"staging\")", a.Directory)
	}
	for _, n := range a.Names {
		if p := hostnameProblem(n, true); p != "" {
			pr.addf("tls.acme.names", "%q is not a valid host name: %s", n, p)
		}
	}
	names := a.NamesOr(c.Hostname)
	if len(a.Names) > 0 && !slices.Contains(names, c.Hostname) {
		pr.addf("tls.acme.names", "does not contain hostname %q, which clients without SNI are given", c.Hostname)
	}
	switch a.Challenge {
	case "tls-alpn-01":
		if c.Listen.ACMETLS == "" {
			pr.addf("tls.acme.challenge", `"tls-alpn-01" needs listen.acme_tls (the CA connects to port 443; set acme_tls = ":443")`)
		}
	case "http-01":
		if c.Listen.ACMEHTTP == "" {
			pr.addf("tls.acme.challenge", `"http-01" needs listen.acme_http (the CA connects to port 80; set acme_http = ":80")`)
		}
	case "dns-01":
		if a.DNSProvider == "" {
			pr.addf("tls.acme.dns_provider", `is required with challenge = "dns-01"`)
		}
		if a.DNSCredentials == "" {
			pr.addf("tls.acme.dns_credentials", `is required with challenge = "dns-01"`)
		}
	}
}

// DNSCredentials is the dns_credentials file: the provider's settings, secrets included,
// kept out of the main config so that it can stay world-readable.
type DNSCredentials struct {
	APIToken  string `toml:"api_token"`  // cloudflare, hetzner, digitalocean, powerdns
	Token     string `toml:"token"`      // desec
	ServerURL string `toml:"server_url"` // powerdns
	ServerID  string `toml:"server_id"`  // powerdns ("localhost" when empty)
	Server    string `toml:"server"`     // rfc2136: "host:port" of the primary
	KeyName   string `toml:"key_name"`   // rfc2136 TSIG key
	KeyAlg    string `toml:"key_alg"`    // rfc2136, e.g. "hmac-sha256"
	Key       string `toml:"key"`        // rfc2136, base64
}

// ReadDNSCredentials reads the dns_credentials file, refusing one that others can read (the
// same rule as the relay password).
func (a ACME) ReadDNSCredentials() (DNSCredentials, error) {
	var c DNSCredentials
	path := a.DNSCredentials
	fi, err := os.Stat(path)
	if err != nil {
		return c, fmt.Errorf("dns_credentials: %w", err)
	}
	if fi.Mode().Perm()&0o077 != 0 {
		return c, fmt.Errorf("dns_credentials: %s is mode %04o; it holds secrets, make it 0600 or 0400", path, fi.Mode().Perm())
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return c, fmt.Errorf("dns_credentials: %w", err)
	}
	dec := toml.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&c); err != nil {
		return c, fmt.Errorf("dns_credentials %s: %w", path, err)
	}
	return c, nil
}
