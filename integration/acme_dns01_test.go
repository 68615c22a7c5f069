package integration

import (
	"crypto/x509"
	"encoding/base64"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestACMEDNS01 gets a certificate from Pebble by dns-01 through the rfc2136 provider: the
// server sends TSIG-signed RFC 2136 updates to an in-process DNS server, which is both
// the [dns] resolver certmagic checks propagation against and the DNS Pebble's validation
// authority asks (-dnsserver). No challenge listener is configured at all.
func TestACMEDNS01(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	caFile, certFile, keyFile := testCA(t, dir)
	secret := base64.StdEncoding.EncodeToString([]byte("postern-acme-test-tsig-secret-32b"))
	dnsSrv := startFakeDNSWith(t, &fakeDNS{loopbackA: true, tsig: map[string]string{"postern-acme.": secret}},
		"example.test. 60 IN SOA ns.example.test. hostmaster.example.test. 1 60 60 600 60")
	p := runPebble(t, pebbleConfig{Dir: dir, CertFile: certFile, KeyFile: keyFile, DNS: dnsSrv.Addr,
		HTTPPort: reservePort(t), TLSPort: reservePort(t)})

	creds := filepath.Join(dir, "dns.toml")
	if err := os.WriteFile(creds, fmt.Appendf(nil, "server = %q\nkey_name = \"postern-acme\"\nkey_alg = \"hmac-sha256\"\nkey = %q\n",
		dnsSrv.Addr, secret), 0o600); err != nil {
		t.Fatal(err)
	}
	s := NewServer(t, Options{Extra: fmt.Sprintf("[dns]\nservers = [%q]\n\n"+
		"[tls.acme]\nemail = \"postmaster@example.test\"\ndirectory = %q\nchallenge = \"dns-01\"\nca_file = %q\n"+
		"dns_provider = \"rfc2136\"\ndns_credentials = %q\n", dnsSrv.Addr, p.Directory, caFile, creds)})

	obtained := waitLogLine(t, s, 90*time.Second, "acme: certificate obtained")
	if strings.Contains(obtained, "renewal=true") {
		t.Errorf("the first certificate is logged as a renewal: %s", obtained)
	}
	leaf := waitServed(t, s.Addrs["imaps"], 15*time.Second, "dns-01 issuance", func(c *x509.Certificate) bool {
		return strings.Contains(c.Issuer.CommonName, "Pebble")
	})
	if len(leaf.DNSNames) != 1 || leaf.DNSNames[0] != "mail.example.test" {
		t.Errorf("dns-01 certificate names %v, want [mail.example.test]", leaf.DNSNames)
	}
	if issuer, _ := servedIssuer(t, s.Addrs["submissions"], "mail.example.test"); !strings.Contains(issuer, "Pebble") {
		t.Errorf("submissions serves %q", issuer)
	}
	// The TXT record was published and then cleaned up: at least two signed updates, and no
	// challenge record left once the certificate is in.
	if n := dnsSrv.Updates(); n < 2 {
		t.Errorf("%d RFC 2136 updates, want the add and the clean-up", n)
	}
	dnsSrv.mu.Lock()
	left := dnsSrv.records["_acme-challenge.mail.example.test. TXT"]
	dnsSrv.mu.Unlock()
	if len(left) != 0 {
		t.Errorf("challenge TXT records left behind: %v", left)
	}
}
