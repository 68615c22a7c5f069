package config

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"
	"time"
)

// MTASTS is the MTA-STS policy (RFC 8461) Postern serves for every local domain at
// https://mta-sts.DOMAIN/.well-known/mta-sts.txt, on listen.https or listen.acme_tls.
type MTASTS struct {
	Mode   string   `toml:"mode" enum:"|testing|enforce" example:"testing" doc:"The policy mode: \"testing\" (senders report TLS failures but deliver anyway; start here), \"enforce\" (senders deliver only over verified TLS to the listed MX hosts), or \"\" to serve no policy."`
	MaxAge string   `toml:"max_age" type:"duration" doc:"How long senders may cache the policy (its max_age; RFC 8461 suggests weeks once it works)."`
	MX     []string `toml:"mx" type:"array of host names" example:"" doc:"The MX host names the policy allows; [] means hostname alone. Each must match the certificate those hosts serve on port 25."`
}

// MaxAgeSeconds is MaxAge in whole seconds; 0 when invalid (which Validate reports).
func (m MTASTS) MaxAgeSeconds() int64 {
	d, err := time.ParseDuration(m.MaxAge)
	if err != nil || d <= 0 {
		return 0
	}
	return int64(d / time.Second)
}

// MXOr is MX, or hostname alone when MX is empty.
func (m MTASTS) MXOr(hostname string) []string {
	if len(m.MX) == 0 {
		return []string{hostname}
	}
	return m.MX
}

// Policy is the policy file's text (RFC 8461 section 3.2: key-value lines ending in
// CRLF); "" when Mode is off.
func (c *Config) MTASTSPolicy() string {
	m := c.MTASTS
	if m.Mode == "" {
		return ""
	}
	var b strings.Builder
	b.WriteString("version: STSv1\r\nmode: " + m.Mode + "\r\n")
	for _, mx := range m.MXOr(c.Hostname) {
		b.WriteString("mx: " + strings.ToLower(mx) + "\r\n")
	}
	fmt.Fprintf(&b, "max_age: %d\r\n", m.MaxAgeSeconds())
	return b.String()
}

// MTASTSPolicyID is the id of the _mta-sts TXT record for the current policy: it must
// change whenever the policy does (RFC 8461 section 3.1), so it is derived from the
// policy text: 20 hex digits of its SHA-256.
func (c *Config) MTASTSPolicyID() string {
	sum := sha256.Sum256([]byte(c.MTASTSPolicy()))
	return hex.EncodeToString(sum[:10])
}

func (m *MTASTS) validate(pr *problems) {
	if m.Mode == "" {
		return
	}
	d, err := time.ParseDuration(m.MaxAge)
	switch {
	case err != nil:
		pr.addf("mta_sts.max_age", "%q is not a duration (e.g. \"168h\")", m.MaxAge)
	case d < 24*time.Hour || d > 31557600*time.Second:
		pr.addf("mta_sts.max_age", "%q is outside one day to one year (RFC 8461 allows up to 31557600 seconds; senders refetch shorter ones too often)", m.MaxAge)
	}
	for _, mx := range m.MX {
		if p := hostnameProblem(strings.TrimPrefix(mx, "*."), true); p != "" {
			pr.addf("mta_sts.mx", "%q is not a host name: %s", mx, p)
		}
	}
}
