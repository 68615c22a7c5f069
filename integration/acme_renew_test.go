package integration

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"fmt"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"
)

// waitLogLine waits until the server logs one line holding every one of substrs and
// returns it.
func waitLogLine(t testing.TB, s *Server, within time.Duration, substrs ...string) string {
	t.Helper()
	deadline := time.Now().Add(within)
	for time.Now().Before(deadline) {
	lines:
		for _, l := range s.Log() {
			for _, sub := range substrs {
				if !strings.Contains(l, sub) {
					continue lines
				}
			}
			return l
		}
		if !s.Running() {
			t.Fatalf("server exited while waiting for a line with %q", substrs)
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("no log line with all of %q within %v", substrs, within)
	return ""
}

// servedLeaf dials addr with implicit TLS and no SNI (as Postfix connects) and returns
// the leaf certificate.
func servedLeaf(t testing.TB, addr string) *x509.Certificate {
	t.Helper()
	c, err := tls.DialWithDialer(&net.Dialer{Timeout: 10 * time.Second}, "tcp", addr, &tls.Config{InsecureSkipVerify: true})
	if err != nil {
		t.Fatalf("tls dial %s: %v", addr, err)
	}
	defer c.Close()
	return c.ConnectionState().PeerCertificates[0]
}

// waitServed polls new handshakes until one serves a certificate that ok accepts: the
// cache swap follows the "obtained" event by a moment.
func waitServed(t testing.TB, addr string, within time.Duration, what string, ok func(*x509.Certificate) bool) *x509.Certificate {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		leaf := servedLeaf(t, addr)
		if ok(leaf) {
			return leaf
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: within %v %s still serves serial %x from %q", what, within, addr, leaf.SerialNumber, leaf.Issuer.CommonName)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func spkiHash(c *x509.Certificate) string {
	sum := sha256.Sum256(c.RawSubjectPublicKeyInfo)
	return hex.EncodeToString(sum[:])
}

// tlsaLine runs `postern dns records` and returns its TLSA record.
func tlsaLine(t testing.TB, s *Server) string {
	t.Helper()
	r := runCLI(t, s.Config, "", nil, "dns", "records", "example.test")
	if r.Code != 0 {
		t.Fatalf("dns records: %d %s %s", r.Code, r.Stdout, r.Stderr)
	}
	for _, l := range strings.Split(r.Stdout, "\n") {
		if strings.Contains(l, " TLSA ") {
			return l
		}
	}
	t.Fatalf("dns records prints no TLSA record:\n%s", r.Stdout)
	return ""
}

// TestACMERenewal is issue 7's "swaps in a renewed one without dropping an IMAP session",
// and what happens when the CA goes away. Pebble issues 20-second certificates and the
// server checks for renewals every second (the test-only POSTERN_TEST_ACME_RENEW_CHECK),
// so certmagic renews each one about 13 s after issuance:
//   - an IMAP session opened on the first certificate still answers after the swap;
//   - new handshakes get the renewed certificate (another serial) with the same key, so
//     the TLSA record `postern dns records` prints does not change;
//   - with Pebble stopped, the next renewal fails, the log says why, and the last
//     certificate keeps serving.
func TestACMERenewal(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	caFile, certFile, keyFile := testCA(t, dir)
	dnsSrv := startFakeDNS(t, true)
	tlsPort := reservePort(t)
	p := runPebble(t, pebbleConfig{Dir: dir, CertFile: certFile, KeyFile: keyFile, DNS: dnsSrv.Addr,
		HTTPPort: reservePort(t), TLSPort: tlsPort, Validity: 20})
	s := NewServer(t, Options{NoStart: true, Extra: fmt.Sprintf(
		"[tls.acme]\nemail = \"postmaster@example.test\"\ndirectory = %q\nchallenge = \"tls-alpn-01\"\nca_file = %q\n",
		p.Directory, caFile)})
	s.Env = []string{"POSTERN_TEST_ACME_RENEW_CHECK=1s"}
	withListen(t, s, map[string]string{"acme_tls": "127.0.0.1:" + strconv.Itoa(tlsPort)})

	isPebble := func(c *x509.Certificate) bool { return strings.Contains(c.Issuer.CommonName, "Pebble") }
	first := waitServed(t, s.Addrs["imaps"], 90*time.Second, "first issuance", isPebble)
	tlsaBefore := tlsaLine(t, s)
	if !strings.HasSuffix(tlsaBefore, "3 1 1 "+spkiHash(first)) {
		t.Errorf("TLSA record %q does not match the served key %s", tlsaBefore, spkiHash(first))
	}

	// An IMAP session on the first certificate.
	imap, err := tls.Dial("tcp", s.Addrs["imaps"], &tls.Config{InsecureSkipVerify: true})
	if err != nil {
		t.Fatal(err)
	}
	defer imap.Close()
	sessionSerial := imap.ConnectionState().PeerCertificates[0].SerialNumber
	rd := bufio.NewReader(imap)
	if l, err := rd.ReadString('\n'); err != nil || !strings.HasPrefix(l, "* OK") {
		t.Fatalf("imap greeting %q %v", l, err)
	}

	// The renewal.
	waitLogLine(t, s, 60*time.Second, "acme: certificate obtained", "renewal=true")
	renewed := waitServed(t, s.Addrs["imaps"], 15*time.Second, "renewal", func(c *x509.Certificate) bool {
		return isPebble(c) && c.SerialNumber.Cmp(sessionSerial) != 0
	})
	if !renewed.NotAfter.After(first.NotAfter) {
		t.Errorf("renewed certificate expires %v, not after the first's %v", renewed.NotAfter, first.NotAfter)
	}
	if spkiHash(renewed) != spkiHash(first) {
		t.Errorf("the renewal changed the key (ReusePrivateKeys): %s -> %s", spkiHash(first), spkiHash(renewed))
	}
	if sub := servedLeaf(t, s.Addrs["submissions"]); !bytes.Equal(sub.Raw, renewed.Raw) && sub.SerialNumber.Cmp(sessionSerial) == 0 {
		t.Errorf("submissions still serves the old certificate %x", sub.SerialNumber)
	}
	if tlsaAfter := tlsaLine(t, s); tlsaAfter != tlsaBefore {
		t.Errorf("the TLSA record changed across the renewal:\n%s\n%s", tlsaBefore, tlsaAfter)
	}
	fmt.Fprintf(imap, "a1 NOOP\r\n")
	if l, err := rd.ReadString('\n'); err != nil || !strings.HasPrefix(l, "a1 OK") {
		t.Errorf("the IMAP session opened before the renewal: %q %v", l, err)
	}
	fmt.Fprintf(imap, "a2 CAPABILITY\r\n")
	if l, err := rd.ReadString('\n'); err != nil || !strings.HasPrefix(l, "* CAPABILITY") {
		t.Errorf("CAPABILITY on the old session: %q %v", l, err)
	}

	// The CA goes away: the next renewal fails with the reason logged, and the certificate
	// served when it went away keeps serving.
	p.Stop()
	last := servedLeaf(t, s.Addrs["imaps"])
	failed := waitLogLine(t, s, 60*time.Second, "acme: certificate not obtained", "renewal=true")
	if !strings.Contains(failed, "connection refused") {
		t.Errorf("the failure does not say why (want the CA's connection refused):\n%s", failed)
	}
	if now := servedLeaf(t, s.Addrs["imaps"]); now.SerialNumber.Cmp(last.SerialNumber) != 0 || !isPebble(now) {
		t.Errorf("after the failed renewal imaps serves %x from %q, want %x", now.SerialNumber, now.Issuer.CommonName, last.SerialNumber)
	}
	if !s.Running() {
		t.Error("the server stopped after the failed renewal")
	}
}
