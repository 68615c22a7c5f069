package config

import (
	"fmt"
	"net/netip"
	"reflect"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/postern/postern/smtp/relay"
)

// maxSocketPath is the longest unix socket path Linux accepts: sun_path is
// 108 bytes including the terminating NUL.
const maxSocketPath = 107

// Validate checks every value and returns all problems found, joined, one
// per line, each naming the file and line when the Config came from a file.
// Load and Parse already call it; call it again after changing a Config in
// code.
func (c *Config) Validate() error {
	pr := &problems{file: c.File, lines: c.lines}
	c.validate(pr)
	return pr.err()
}

func (c *Config) validate(pr *problems) {
	c.validateTop(pr)
	c.validateEnums(pr)
	c.validateListen(pr)
	c.SMTP.validate(pr)
	c.DNS.validate(pr)
	c.TLS.validate(pr)
	c.validateACME(pr)
	c.Queue.validate(pr)
	c.Mailbox.validate(pr)
	c.Alerts.validate(pr)
	c.Trace.validate(pr)
	c.MTASTS.validate(pr)
	c.Milter.validate(pr)
	c.SpamLearning.validate(pr)
	c.Sieve.validate(pr)
	c.DNSBL.validate(pr)
	c.Limits.validate(pr)
	c.validateRelays(pr)
	if c.Admin.Socket == "" {
		pr.addf("admin.socket", "must not be empty (the command line needs it)")
	} else if p := c.AdminSocket(); len(p) > maxSocketPath {
		pr.addf("admin.socket", "%q is longer than %d bytes, the limit for a unix socket path; shorten runtime_dir", p, maxSocketPath)
	}
	if c.Admin.SubmitSocket == "" {
		pr.addf("admin.submit_socket", "must not be empty (postern sendmail needs it)")
	} else if p := c.SubmitSocket(); len(p) > maxSocketPath {
		pr.addf("admin.submit_socket", "%q is longer than %d bytes, the limit for a unix socket path; shorten runtime_dir", p, maxSocketPath)
	} else if p == c.AdminSocket() {
		pr.addf("admin.submit_socket", "%q is the admin socket too; give it its own name", p)
	}
}

func (c *Config) validateTop(pr *problems) {
	switch {
	case c.Hostname == "":
		pr.add("hostname", `hostname is required (the name of this mail server, e.g. "mail.example.com")`)
	case hostnameProblem(c.Hostname, true) != "":
		pr.addf("hostname", "%q is not a valid host name: %s", c.Hostname, hostnameProblem(c.Hostname, true))
	}
	if c.StateDir == "" {
		pr.addf("state_dir", "must not be empty")
	}
	if c.RuntimeDir == "" {
		pr.addf("runtime_dir", "must not be empty")
	}
}

// validateEnums checks every field tagged with `enum`.
func (c *Config) validateEnums(pr *problems) {
	visit(reflect.ValueOf(c).Elem(), "", func(key string, sf reflect.StructField, fv reflect.Value) {
		if allowed := enumOf(sf); allowed != nil && !slices.Contains(allowed, fv.String()) {
			pr.addf(key, "%q is not allowed (allowed: %s)", fv.String(), quoteList(allowed))
		}
	})
}

func (c *Config) validateListen(pr *problems) {
	used := make(map[string]string) // address -> the key that binds it
	v := reflect.ValueOf(c.Listen)
	for _, f := range fieldsOf(v.Type()) {
		key := "listen." + f.name
		raw := v.Field(f.index).String()
		if raw == "" {
			continue
		}
		unixOK := f.sf.Tag.Get("unix") == "true"
		a, err := parseListenAddr(raw, unixOK)
		if err != nil {
			if strings.HasPrefix(raw, "unix:") && !unixOK {
				pr.addf(key, "%q is not allowed: only listen.lmtp can be a unix socket (use \":port\" or \"host:port\")", raw)
				continue
			}
			pr.addf(key, "%v (use \":port\", \"host:port\", \"[::1]:port\", or \"\" to switch it off)", err)
			continue
		}
		id := a.Network + " " + a.Address
		if a.Network == "unix" {
			p := underDir(c.RuntimeDir, a.Address)
			id = "unix " + p
			if len(p) > maxSocketPath {
				pr.addf(key, "%q is longer than %d bytes, the limit for a unix socket path; shorten runtime_dir", p, maxSocketPath)
			}
		} else if strings.HasSuffix(a.Address, ":0") {
			continue // every port-0 listener gets its own ephemeral port
		}
		if other, dup := used[id]; dup {
			pr.addf(key, "%q is already used by listen.%s", raw, other)
			continue
		}
		used[id] = f.name
	}
}

// delimiterChars are the characters allowed as recipient_delimiter: the
// RFC 5322 section 3.2.3 atext specials, which may appear in a dot-atom local
// part unquoted. Letters and digits are excluded because they occur in
// ordinary local parts, "." because it separates dot-atom parts.
const delimiterChars = "!#$%&'*+-/=?^_`{|}~"

func (s *SMTP) validate(pr *problems) {
	for _, n := range s.TrustedNetworks {
		if _, err := netip.ParsePrefix(n); err != nil {
			hint := `e.g. "192.168.1.0/24" or "2001:db8::/32"`
			if a, err := netip.ParseAddr(n); err == nil {
				hint = fmt.Sprintf("for this one address write %q", netip.PrefixFrom(a, a.BitLen()).String())
			}
			pr.addf("smtp.trusted_networks", "%q is not a network in CIDR notation (%s)", n, hint)
		}
	}
	if d := s.RecipientDelimiter; d != "" {
		if utf8.RuneCountInString(d) != 1 || !strings.Contains(delimiterChars, d) {
			pr.addf("smtp.recipient_delimiter", "%q is not allowed (allowed: one of %s, or \"\" for none)", d, delimiterChars)
		}
	}
	if ls := s.LocalSender; ls != "" && (strings.Count(ls, "@") != 1 || strings.HasPrefix(ls, "@") || strings.HasSuffix(ls, "@") || strings.ContainsAny(ls, " <>\t")) {
		pr.addf("smtp.local_sender", "%q is not an address like \"server@example.com\"", ls)
	}
	if s.MessageSizeLimit <= 0 {
		pr.addf("smtp.message_size_limit", "must be a positive number of bytes, got %d", s.MessageSizeLimit)
	}
	positive := []struct {
		key string
		v   int
	}{
		{"smtp.max_recipients", s.MaxRecipients},
	}
	for _, p := range positive {
		if p.v < 1 {
			pr.addf(p.key, "must be at least 1, got %d", p.v)
		}
	}
	// RFC 5321 section 4.5.3.1.6: a text line may be 1000 octets including
	// CRLF, and a server must accept lines that long.
	if s.MaxLineLength < 1000 {
		pr.addf("smtp.max_line_length", "must be at least 1000 (RFC 5321 section 4.5.3.1.6), got %d", s.MaxLineLength)
	}
}

// Prefixes returns trusted_networks parsed, each masked to its network
// address ("10.1.2.3/8" becomes "10.0.0.0/8"). Entries that do not parse are
// left out; Validate reports them.
func (s SMTP) Prefixes() []netip.Prefix {
	out := make([]netip.Prefix, 0, len(s.TrustedNetworks))
	for _, n := range s.TrustedNetworks {
		if p, err := netip.ParsePrefix(n); err == nil {
			out = append(out, p.Masked())
		}
	}
	return out
}

func (d *DNS) validate(pr *problems) {
	for _, s := range d.Servers {
		if _, err := parseDNSServer(s); err != nil {
			pr.addf("dns.servers", "%q is not a DNS server address (%v; use an IP address with an optional port: \"192.0.2.53\", \"192.0.2.53:5353\", \"[2001:db8::53]:53\")", s, err)
		}
	}
}

// Addrs returns the servers as "ip:port", port 53 when omitted. Entries that
// do not parse are left out; Validate reports them.
func (d DNS) Addrs() []string {
	out := make([]string, 0, len(d.Servers))
	for _, s := range d.Servers {
		if ap, err := parseDNSServer(s); err == nil {
			out = append(out, ap.String())
		}
	}
	return out
}

// parseDNSServer accepts "ip", "ip:port" and "[ipv6]:port". A host name is
// refused: resolving the resolver would need a resolver.
func parseDNSServer(s string) (netip.AddrPort, error) {
	if a, err := netip.ParseAddr(s); err == nil {
		return netip.AddrPortFrom(a, 53), nil
	}
	ap, err := netip.ParseAddrPort(s)
	if err != nil {
		return netip.AddrPort{}, fmt.Errorf("not an IP address")
	}
	if ap.Port() == 0 {
		return netip.AddrPort{}, fmt.Errorf("port 0")
	}
	return ap, nil
}

func (t *TLS) validate(pr *problems) {
	switch {
	case t.Cert != "" && t.Key == "":
		pr.addf("tls.cert", "is set but tls.key is not; both are needed")
	case t.Key != "" && t.Cert == "":
		pr.addf("tls.key", "is set but tls.cert is not; both are needed")
	}
	hasFiles := t.Cert != "" || t.Key != ""
	switch {
	case hasFiles && t.SelfSigned:
		pr.addf("tls.self_signed", "is true but tls.cert and tls.key are set; pick one: remove self_signed to use the files, or remove cert and key")
	case !hasFiles && !t.SelfSigned:
		pr.add("tls", "tls: no TLS certificate: set tls.cert and tls.key, or self_signed = true")
	}
}

// validate checks one relay table: [relay] (key "relay") or [relays.NAME].
func (r *Relay) validate(pr *problems, key, table string) {
	_, known := relay.LookupPreset(r.Provider, "")
	if r.Provider != "" && !known {
		pr.addf(key+".provider", "unknown provider %q (known: %s)", r.Provider, providerNames())
	}
	if r.Region != "" {
		if !strings.EqualFold(r.Provider, "ses") {
			pr.addf(key+".region", `only applies to provider = "ses"`)
		} else if strings.Trim(strings.ToLower(r.Region), "abcdefghijklmnopqrstuvwxyz0123456789-") != "" {
			pr.addf(key+".region", "%q is not a region name like \"eu-west-1\"", r.Region)
		}
	}
	switch {
	case r.Host == "" && strings.EqualFold(r.Provider, "ses") && r.Region == "":
		pr.addf(key+".region", `is required with provider = "ses" (e.g. "eu-west-1"), or set host`)
	case r.Host == "" && r.Provider != "":
		// an unknown provider, reported above
	case r.Host == "":
		pr.add(key, fmt.Sprintf(`%s.host is required in %s (the smart host, e.g. "smtp.fastmail.com", or a provider such as provider = "fastmail"); remove %s to deliver directly to MX hosts`, key, table, table))
	case strings.Contains(r.Host, ":") && !isIPOrHostname(r.Host):
		pr.addf(key+".host", "%q is not a host name; put the port in %s.port", r.Host, key)
	case !isIPOrHostname(r.Host):
		pr.addf(key+".host", "%q is neither a host name nor an IP address", r.Host)
	}
	if r.Port < 1 || r.Port > 65535 {
		pr.addf(key+".port", "%d is not a port (1 to 65535)", r.Port)
	}
	if r.Username != "" && r.PasswordFile == "" {
		pr.addf(key+".password_file", "is required when %s.username is set", key)
	}
	if r.Username == "" && r.PasswordFile != "" {
		pr.addf(key+".username", "is required when %s.password_file is set", key)
	}
	// Passwords never cross the network in clear (docs/ARCHITECTURE.md, Authentication).
	if r.Username != "" && r.TLS == "none" {
		pr.addf(key+".tls", `"none" would send the relay password in clear; use "starttls" or "implicit"`)
	}
	if r.InsecureSkipVerify && r.CAFile != "" {
		pr.addf(key+".insecure_skip_verify", "is true and %s.ca_file is set; pick one: the CA file verifies the certificate, insecure_skip_verify does not", key)
	}
}

func (q *Queue) validate(pr *problems) {
	for _, d := range []struct {
		key, val string
		optional bool
	}{{"queue.min_backoff", q.MinBackoff, false}, {"queue.max_backoff", q.MaxBackoff, false},
		{"queue.lifetime", q.Lifetime, false}, {"queue.delay_warning", q.DelayWarning, true}} {
		if d.val == "" && d.optional {
			continue
		}
		v, err := time.ParseDuration(d.val)
		if err != nil || v <= 0 {
			pr.addf(d.key, "%q is not a positive duration (write it like \"90s\", \"5m\" or \"120h\")", d.val)
		}
	}
	minB, maxB, _, _ := q.Durations()
	if minB > 0 && maxB > 0 && maxB < minB {
		pr.addf("queue.max_backoff", "%q is shorter than min_backoff %q", q.MaxBackoff, q.MinBackoff)
	}
	if q.MaxConcurrency < 1 {
		pr.addf("queue.max_concurrency", "must be at least 1")
	}
}
