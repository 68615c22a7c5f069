package integration

import (
	"bufio"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/miekg/dns"
)

// fakeDNS is an in-process DNS server on 127.0.0.1 (UDP and TCP) answering from a fixed
// record set; with loopbackA, every A question without a record gets 127.0.0.1 (what
// Pebble's validation authority needs to reach our challenge listeners).
type fakeDNS struct {
	Addr      string
	mu        sync.Mutex
	records   map[string][]dns.RR // key: "name. TYPE", lower case
	loopbackA bool
	tsig      map[string]string // TSIG key name -> base64 secret; updates need one
	updates   int               // RFC 2136 updates applied
}

func startFakeDNS(t testing.TB, loopbackA bool, zone ...string) *fakeDNS {
	t.Helper()
	return startFakeDNSWith(t, &fakeDNS{loopbackA: loopbackA}, zone...)
}

// startFakeDNSWith starts f (with its tsig keys, if any) holding zone.
func startFakeDNSWith(t testing.TB, f *fakeDNS, zone ...string) *fakeDNS {
	t.Helper()
	f.records = make(map[string][]dns.RR)
	for _, z := range zone {
		f.Add(t, z)
	}
	pc, ln := listenUDPAndTCP(t)
	f.Addr = pc.LocalAddr().String()
	// miekg/dns answers NOTIMP to anything but queries and notifies unless told otherwise.
	accept := func(h dns.Header) dns.MsgAcceptAction {
		if int(h.Bits>>11)&0xF == dns.OpcodeUpdate {
			return dns.MsgAccept
		}
		return dns.DefaultMsgAcceptFunc(h)
	}
	udp := &dns.Server{PacketConn: pc, Handler: f, TsigSecret: f.tsig, MsgAcceptFunc: accept}
	tcp := &dns.Server{Listener: ln, Handler: f, TsigSecret: f.tsig, MsgAcceptFunc: accept}
	go udp.ActivateAndServe()
	go tcp.ActivateAndServe()
	t.Cleanup(func() { udp.Shutdown(); tcp.Shutdown() })
	return f
}

// listenUDPAndTCP binds a UDP and a TCP socket on the same loopback port. The
// kernel picks the UDP port; the same TCP port may belong to someone else, so it
// tries a bounded number of ports.
func listenUDPAndTCP(t testing.TB) (net.PacketConn, net.Listener) {
	t.Helper()
	var lastErr error
	for range 20 {
		pc, err := net.ListenPacket("udp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		ln, err := net.Listen("tcp", pc.LocalAddr().String())
		if err == nil {
			return pc, ln
		}
		pc.Close()
		lastErr = err
	}
	t.Fatalf("no loopback port free for both UDP and TCP: %v", lastErr)
	return nil, nil
}

// Add adds records in zone-file syntax, one per line.
func (f *fakeDNS) Add(t testing.TB, zone string) {
	t.Helper()
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, line := range strings.Split(zone, "\n") {
		if strings.TrimSpace(line) == "" {
			continue
		}
		rr, err := dns.NewRR(line)
		if err != nil {
			t.Fatalf("fake DNS record %q: %v", line, err)
		}
		k := strings.ToLower(rr.Header().Name) + " " + dns.TypeToString[rr.Header().Rrtype]
		f.records[k] = append(f.records[k], rr)
	}
}

func (f *fakeDNS) ServeDNS(w dns.ResponseWriter, r *dns.Msg) {
	m := new(dns.Msg)
	m.SetReply(r)
	m.Authoritative = true
	if r.Opcode == dns.OpcodeUpdate {
		f.update(w, r, m)
		return
	}
	if len(r.Question) == 1 {
		q := r.Question[0]
		name := strings.ToLower(q.Name)
		f.mu.Lock()
		rrs := f.records[name+" "+dns.TypeToString[q.Qtype]]
		if len(rrs) == 0 && q.Qtype != dns.TypeCNAME {
			rrs = f.records[name+" CNAME"]
		}
		any := false
		for k := range f.records {
			if strings.HasPrefix(k, name+" ") {
				any = true
			}
		}
		f.mu.Unlock()
		m.Answer = append(m.Answer, rrs...)
		switch {
		case len(rrs) == 0 && q.Qtype == dns.TypeA && f.loopbackA:
			m.Answer = append(m.Answer, &dns.A{Hdr: dns.RR_Header{Name: q.Name, Rrtype: dns.TypeA, Class: dns.ClassINET, Ttl: 60}, A: net.IPv4(127, 0, 0, 1)})
		case len(rrs) == 0 && !any && !f.loopbackA:
			m.Rcode = dns.RcodeNameError
		}
	}
	w.WriteMsg(m)
}

// update applies an RFC 2136 UPDATE signed with one of f.tsig's keys (RFC 8945); anything
// unsigned or badly signed is REFUSED / NOTAUTH. Only the update section's three forms
// that libdns/rfc2136 sends are understood: add (class IN), delete an RRset (class ANY)
// and delete one RR (class NONE), RFC 2136 section 2.5.
func (f *fakeDNS) update(w dns.ResponseWriter, r *dns.Msg, m *dns.Msg) {
	ts := r.IsTsig()
	switch {
	case ts == nil || len(f.tsig) == 0:
		m.Rcode = dns.RcodeRefused
		w.WriteMsg(m)
		return
	case w.TsigStatus() != nil:
		m.Rcode = dns.RcodeNotAuth
		w.WriteMsg(m)
		return
	}
	f.mu.Lock()
	for _, rr := range r.Ns {
		h := rr.Header()
		k := strings.ToLower(h.Name) + " " + dns.TypeToString[h.Rrtype]
		switch h.Class {
		case dns.ClassINET:
			f.records[k] = append(f.records[k], rr)
		case dns.ClassANY:
			delete(f.records, k)
		case dns.ClassNONE:
			f.records[k] = slices.DeleteFunc(f.records[k], func(have dns.RR) bool {
				want := dns.Copy(rr)
				want.Header().Class, want.Header().Ttl = dns.ClassINET, have.Header().Ttl
				return dns.IsDuplicate(have, want)
			})
		}
	}
	f.updates++
	f.mu.Unlock()
	m.SetTsig(ts.Hdr.Name, ts.Algorithm, 300, time.Now().Unix())
	w.WriteMsg(m)
}

// Updates is how many RFC 2136 updates were applied.
func (f *fakeDNS) Updates() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.updates
}

// testCA makes a CA and a leaf for 127.0.0.1/localhost (Pebble's own HTTPS listener)
// and returns the paths of the CA certificate, the leaf and its key.
func testCA(t testing.TB, dir string) (caFile, certFile, keyFile string) {
	t.Helper()
	caKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	caTmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "postern test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	ca, _ := x509.ParseCertificate(caDER)
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	leafTmpl := &x509.Certificate{SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "localhost"},
		DNSNames: []string{"localhost"}, IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}, KeyUsage: x509.KeyUsageDigitalSignature}
	leafDER, err := x509.CreateCertificate(rand.Reader, leafTmpl, ca, &key.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	kDER, _ := x509.MarshalECPrivateKey(key)
	write := func(name, typ string, der []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	return write("ca.pem", "CERTIFICATE", caDER), write("pebble.pem", "CERTIFICATE", leafDER), write("pebble.key", "EC PRIVATE KEY", kDER)
}

// pebbleConfig is what one Pebble instance is started with.
type pebbleConfig struct {
	Dir               string // where its config file goes
	CertFile, KeyFile string // its HTTPS listener's certificate
	DNS               string // -dnsserver: where its validation authority resolves names
	HTTPPort, TLSPort int    // where it validates http-01 and tls-alpn-01
	// Validity is the lifetime of the certificates it issues in seconds; 0 is Pebble's
	// default (five years).
	Validity int
}

// pebble is a running Pebble; Stop kills it (the CA becomes unreachable).
type pebble struct {
	Directory string
	stop      func()
}

func (p *pebble) Stop() { p.stop() }

// startPebble runs Debian's pebble with its validation ports pointed at our challenge
// listeners and its DNS at dnsAddr; it returns the directory URL once pebble says it
// listens.
func startPebble(t testing.TB, dir, certFile, keyFile, dnsAddr string, httpPort, tlsPort int) string {
	t.Helper()
	return runPebble(t, pebbleConfig{Dir: dir, CertFile: certFile, KeyFile: keyFile, DNS: dnsAddr, HTTPPort: httpPort, TLSPort: tlsPort}).Directory
}

func runPebble(t testing.TB, pc pebbleConfig) *pebble {
	t.Helper()
	bin := needTool(t, "pebble")
	listen := fmt.Sprintf("127.0.0.1:%d", reservePort(t))
	cfg := map[string]any{
		"listenAddress": listen, "managementListenAddress": fmt.Sprintf("127.0.0.1:%d", reservePort(t)),
		"certificate": pc.CertFile, "privateKey": pc.KeyFile, "httpPort": pc.HTTPPort, "tlsPort": pc.TLSPort,
		"ocspResponderURL": "", "externalAccountBindingRequired": false,
	}
	if pc.Validity > 0 {
		cfg["certificateValidityPeriod"] = pc.Validity
	}
	data, _ := json.Marshal(map[string]any{"pebble": cfg})
	cfgFile := filepath.Join(pc.Dir, "pebble.json")
	if err := os.WriteFile(cfgFile, data, 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "-config", cfgFile, "-dnsserver", pc.DNS)
	cmd.Env = append(os.Environ(), "PEBBLE_VA_NOSLEEP=1", "PEBBLE_WFE_NONCEREJECT=0", "PEBBLE_AUTHZREUSE=0")
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = cmd.Stdout
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var once sync.Once
	stop := func() { once.Do(func() { cmd.Process.Kill(); cmd.Wait() }) }
	t.Cleanup(stop)
	ready := make(chan struct{})
	go func() {
		sc := bufio.NewScanner(out)
		once := sync.Once{}
		for sc.Scan() {
			t.Log("pebble: " + sc.Text())
			if strings.Contains(sc.Text(), "Listening on") {
				once.Do(func() { close(ready) })
			}
		}
	}()
	select {
	case <-ready:
	case <-time.After(30 * time.Second):
		t.Fatal("pebble did not start listening within 30 s")
	}
	return &pebble{Directory: "https://" + listen + "/dir", stop: stop}
}

// waitLog waits until the server logs a line containing substr.
func waitLog(t testing.TB, s *Server, substr string, within time.Duration) {
	t.Helper()
	deadline := time.Now().Add(within)
	for time.Now().Before(deadline) {
		for _, l := range s.Log() {
			if strings.Contains(l, substr) {
				return
			}
		}
		if !s.Running() {
			t.Fatalf("server exited while waiting for %q", substr)
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("no log line with %q within %v", substr, within)
}

// servedIssuer dials addr with implicit TLS (sni "" sends none) and returns the leaf's
// issuer and names.
func servedIssuer(t testing.TB, addr, sni string) (string, []string) {
	t.Helper()
	c, err := tls.DialWithDialer(&net.Dialer{Timeout: 10 * time.Second}, "tcp", addr, &tls.Config{ServerName: sni, InsecureSkipVerify: true})
	if err != nil {
		t.Fatalf("tls dial %s: %v", addr, err)
	}
	defer c.Close()
	leaf := c.ConnectionState().PeerCertificates[0]
	return leaf.Issuer.CommonName, leaf.DNSNames
}

// TestACMEPebble is issue 7's ACME check: a fresh server gets a certificate from Pebble
// by http-01 and by tls-alpn-01, serves it on IMAPS and submissions with and without
// SNI, and an IMAP session opened before the swap keeps working.
func TestACMEPebble(t *testing.T) {
	t.Parallel()
	for _, challenge := range []string{"http-01", "tls-alpn-01"} {
		t.Run(challenge, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			caFile, certFile, keyFile := testCA(t, dir)
			dnsSrv := startFakeDNS(t, true)
			httpPort, tlsPort := reservePort(t), reservePort(t)
			directory := startPebble(t, dir, certFile, keyFile, dnsSrv.Addr, httpPort, tlsPort)

			s := NewServer(t, Options{NoStart: true, Extra: fmt.Sprintf(
				"[tls.acme]\nemail = \"postmaster@example.test\"\ndirectory = %q\nchallenge = %q\nca_file = %q\n",
				directory, challenge, caFile)})
			withListen(t, s, map[string]string{
				"acme_http": "127.0.0.1:" + strconv.Itoa(httpPort),
				"acme_tls":  "127.0.0.1:" + strconv.Itoa(tlsPort),
			})
			// An IMAP session open before the certificate arrives.
			imap, err := tls.Dial("tcp", s.Addrs["imaps"], &tls.Config{InsecureSkipVerify: true})
			if err != nil {
				t.Fatal(err)
			}
			defer imap.Close()
			rd := bufio.NewReader(imap)
			if l, err := rd.ReadString('\n'); err != nil || !strings.HasPrefix(l, "* OK") {
				t.Fatalf("imap greeting %q %v", l, err)
			}

			waitLog(t, s, "acme: certificate obtained", 90*time.Second)
			for _, name := range []string{"imaps", "submissions"} {
				for _, sni := range []string{"", "mail.example.test"} {
					issuer, names := servedIssuer(t, s.Addrs[name], sni)
					if !strings.Contains(issuer, "Pebble") || len(names) != 1 || names[0] != "mail.example.test" {
						t.Errorf("%s (sni %q) serves a certificate from %q for %v, want Pebble's for mail.example.test", name, sni, issuer, names)
					}
				}
			}
			// openssl s_client without SNI, as Postfix connects.
			openssl := needTool(t, "openssl")
			out, _ := exec.Command(openssl, "s_client", "-connect", s.Addrs["imaps"], "-noservername", "-brief").CombinedOutput()
			if !strings.Contains(string(out), "Pebble") {
				t.Errorf("openssl s_client -noservername does not show the Pebble issuer:\n%s", out)
			}
			fmt.Fprintf(imap, "a1 NOOP\r\n")
			if l, err := rd.ReadString('\n'); err != nil || !strings.HasPrefix(l, "a1 OK") {
				t.Errorf("the IMAP session opened before the swap: %q %v", l, err)
			}
			// A restart serves the stored certificate from the first handshake.
			s.Restart()
			if issuer, _ := servedIssuer(t, s.Addrs["imaps"], ""); !strings.Contains(issuer, "Pebble") {
				t.Errorf("after a restart imaps serves %q", issuer)
			}
			if _, err := os.Stat(filepath.Join(s.StateDir, "acme")); err != nil {
				t.Errorf("state_dir/acme: %v", err)
			}
		})
	}
}
