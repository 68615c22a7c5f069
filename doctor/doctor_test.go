package doctor

import (
	"bufio"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/postern/postern/server/dnsrecords"
	"github.com/postern/postern/smtp/queue"
	"github.com/postern/postern/smtp/relay"
)

var now = time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)

func clock() time.Time { return now }

// run runs one check and returns its findings' severities and text.
func run(t *testing.T, c Check) ([]Finding, string) {
	t.Helper()
	r := Run(context.Background(), []Check{c}, 5*time.Second)
	var b strings.Builder
	if err := r.Write(&b); err != nil {
		t.Fatal(err)
	}
	return r.Findings, b.String()
}

func wantSeverity(t *testing.T, fs []Finding, text string, want Severity, wantIn ...string) {
	t.Helper()
	if len(fs) == 0 {
		t.Fatalf("no findings")
	}
	if fs[0].Severity != want {
		t.Errorf("severity %s, want %s:\n%s", fs[0].Severity, want, text)
	}
	for _, w := range wantIn {
		if !strings.Contains(text, w) {
			t.Errorf("report lacks %q:\n%s", w, text)
		}
	}
}

func TestRelayRefusingPassword(t *testing.T) {
	t.Parallel()
	rep := relay.Report{Steps: []relay.Step{{Name: "connect", OK: true}, {Name: "auth", Detail: "535 5.7.8 Authentication failed",
		Explain: "The relay refused the username or password. Fastmail needs an app password"}}}
	fs, text := run(t, RelayCheck("[relay]", func(context.Context) relay.Report { return rep }))
	wantSeverity(t, fs, text, Problem, "535 5.7.8", "app password")
	fs, text = run(t, RelayCheck("[relay]", func(context.Context) relay.Report {
		return relay.Report{OK: true, Steps: []relay.Step{{Name: "auth", OK: true}}}
	}))
	wantSeverity(t, fs, text, OK, "accepts")
}

func TestTLSModeForPort(t *testing.T) {
	t.Parallel()
	fs, text := run(t, TLSModeCheck([]RelaySpec{{Table: "[relay]", Host: "smtp.fastmail.com", Port: 465, TLS: "starttls"}}))
	wantSeverity(t, fs, text, Problem, "port 465", `tls = "implicit"`)
	fs, text = run(t, TLSModeCheck([]RelaySpec{{Table: "[relays.b]", Host: "h", Port: 587, TLS: "implicit"}}))
	wantSeverity(t, fs, text, Problem, "port 587", "STARTTLS")
	fs, text = run(t, TLSModeCheck([]RelaySpec{{Table: "[relay]", Host: "h", Port: 587, TLS: "starttls"}, {Table: "[relays.x]", Host: "h", Port: 465, TLS: "implicit"}}))
	wantSeverity(t, fs, text, OK)
}

func TestCABundle(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	bad := filepath.Join(dir, "ca.pem")
	os.WriteFile(bad, []byte("not pem"), 0o644)
	empty := func() (*x509.CertPool, error) { return x509.NewCertPool(), nil }
	fs, text := run(t, CACheck([]RelaySpec{{Table: "[relay]", TLS: "starttls", CAFile: bad}, {Table: "[relays.b]", TLS: "implicit"}}, empty))
	wantSeverity(t, fs, text, Problem, "holds no PEM", "ca-certificates")
	if len(fs) != 2 {
		t.Errorf("%d findings, want 2 (bad ca_file, no system bundle)", len(fs))
	}
}

func testCert(t *testing.T, name string, notAfter time.Time) *x509.Certificate {
	t.Helper()
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: name}, DNSNames: []string{name},
		NotBefore: notAfter.Add(-90 * 24 * time.Hour), NotAfter: notAfter}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	c, _ := x509.ParseCertificate(der)
	return c
}

func TestCertificate(t *testing.T) {
	t.Parallel()
	get := func(c *x509.Certificate) func() (*x509.Certificate, error) {
		return func() (*x509.Certificate, error) { return c, nil }
	}
	fs, text := run(t, CertCheck("mail.example.org", get(testCert(t, "mail.example.org", now.Add(10*24*time.Hour))), false, clock))
	wantSeverity(t, fs, text, Warning, "expires in 10 days")
	fs, text = run(t, CertCheck("mail.example.org", get(testCert(t, "other.example.org", now.Add(60*24*time.Hour))), false, clock))
	wantSeverity(t, fs, text, Problem, "not valid for mail.example.org")
	fs, text = run(t, CertCheck("mail.example.org", get(testCert(t, "mail.example.org", now.Add(-time.Hour))), false, clock))
	wantSeverity(t, fs, text, Problem, "expired")
	fs, text = run(t, CertCheck("mail.example.org", get(testCert(t, "mail.example.org", now.Add(60*24*time.Hour))), false, clock))
	wantSeverity(t, fs, text, OK, "60 more days")
	fs, text = run(t, CertCheck("mail.example.org", func() (*x509.Certificate, error) { return nil, errors.New("no such file") }, false, clock))
	wantSeverity(t, fs, text, Problem, "no such file")
}

func TestDNSRecords(t *testing.T) {
	t.Parallel()
	spf := dnsrecords.Record{Name: "example.org", Type: "TXT", Value: "v=spf1 include:spf.messagingengine.com ~all", Why: "SPF"}
	mx := dnsrecords.Record{Name: "example.org", Type: "MX", Value: "10 mail.example.org.", Why: "mail comes here"}
	check := func(_ context.Context, d string) []dnsrecords.Result {
		return []dnsrecords.Result{{Record: mx, Status: dnsrecords.OK}, {Record: spf, Status: dnsrecords.Wrong, Found: []string{"v=spf1 mx ~all"}}}
	}
	fs, text := run(t, DNSCheck([]string{"example.org"}, check))
	wantSeverity(t, fs, text, Problem, "v=spf1 mx ~all", "include:spf.messagingengine.com")
}

func TestSecretModes(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	open, private := filepath.Join(dir, "relay.password"), filepath.Join(dir, "key.pem")
	os.WriteFile(open, []byte("x"), 0o644)
	os.WriteFile(private, []byte("x"), 0o600)
	fs, text := run(t, SecretModesCheck([]string{private, open, filepath.Join(dir, "missing")}))
	wantSeverity(t, fs, text, Problem, "relay.password is readable by every user", "chmod 600")
	if len(fs) != 1 {
		t.Errorf("%d findings, want 1", len(fs))
	}
}

func TestTrustedNetworks(t *testing.T) {
	t.Parallel()
	p := func(s ...string) []netip.Prefix {
		var out []netip.Prefix
		for _, x := range s {
			out = append(out, netip.MustParsePrefix(x))
		}
		return out
	}
	fs, text := run(t, TrustedNetworksCheck(p("127.0.0.0/8", "::1/128")))
	wantSeverity(t, fs, text, OK)
	fs, text = run(t, TrustedNetworksCheck(p("0.0.0.0/0")))
	wantSeverity(t, fs, text, Problem, "anyone there may relay")
	fs, text = run(t, TrustedNetworksCheck(p("172.17.0.0/16")))
	wantSeverity(t, fs, text, Warning, "container bridge")
	if _, ok := Stranger(p("0.0.0.0/0", "::/0")); ok {
		t.Error("found a stranger outside 0.0.0.0/0 and ::/0")
	}
	if s, ok := Stranger(p("127.0.0.0/8", "192.0.2.0/24")); !ok || s.Addr().String() != "198.51.100.1" {
		t.Errorf("Stranger = %v %v", s, ok)
	}
}

// fakeMX answers the open-relay probe; rcpt is its answer to RCPT.
func fakeMX(rcpt string) func(context.Context) (net.Conn, error) {
	return func(context.Context) (net.Conn, error) {
		client, server := net.Pipe()
		go func() {
			defer server.Close()
			r := bufio.NewReader(server)
			fmt.Fprint(server, "220 mx ESMTP\r\n")
			for {
				line, err := r.ReadString('\n')
				if err != nil {
					return
				}
				switch {
				case strings.HasPrefix(line, "EHLO"):
					fmt.Fprint(server, "250-mx\r\n250 PIPELINING\r\n")
				case strings.HasPrefix(line, "RCPT"):
					fmt.Fprint(server, rcpt+"\r\n")
				case strings.HasPrefix(line, "QUIT"):
					fmt.Fprint(server, "221 bye\r\n")
					return
				default:
					fmt.Fprint(server, "250 ok\r\n")
				}
			}
		}()
		return client, nil
	}
}

func TestOpenRelay(t *testing.T) {
	t.Parallel()
	fs, text := run(t, OpenRelayCheck(fakeMX("554 5.7.1 relay access denied"), "x@example.com"))
	wantSeverity(t, fs, text, OK, "554 5.7.1")
	fs, text = run(t, OpenRelayCheck(fakeMX("250 2.1.5 ok"), "x@example.com"))
	wantSeverity(t, fs, text, Problem, "open relay")
}

func TestMilterQueueDisk(t *testing.T) {
	t.Parallel()
	refuse := func(context.Context, string, string) (net.Conn, error) { return nil, errors.New("connection refused") }
	fs, text := run(t, MilterCheck("tcp", "127.0.0.1:11332", refuse))
	wantSeverity(t, fs, text, Problem, "does not answer", "default_action")
	old := []queue.Info{{ID: "Q1", Arrival: now.Add(-5 * time.Hour), Rcpts: []queue.RcptInfo{{LastError: "535 5.7.8 auth failed"}}}}
	fs, text = run(t, QueueCheck(func() []queue.Info { return old }, 4*time.Hour, clock))
	wantSeverity(t, fs, text, Problem, "Q1", "535 5.7.8", "postern queue show Q1")
	fs, text = run(t, DiskCheck("/var/lib/postern", 10, func(string) (uint64, uint64, error) { return 5 << 30, 100 << 30, nil }))
	wantSeverity(t, fs, text, Problem, "nearly full", "5%")
}

func TestRunBoundsAHangingCheck(t *testing.T) {
	t.Parallel()
	hang := Check{Name: "hang", Run: func(ctx context.Context) []Finding { <-ctx.Done(); time.Sleep(time.Millisecond); return nil }}
	fine := Check{Name: "fine", Run: func(context.Context) []Finding { return ok("fine") }}
	r := Run(context.Background(), []Check{fine, hang}, 50*time.Millisecond)
	if r.OK || len(r.Findings) != 2 || r.Findings[0].Check != "fine" || r.Findings[1].Severity != Problem {
		t.Errorf("report %+v", r)
	}
}

func TestControllerCheck(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/ping" {
			io.WriteString(w, "pong\r\n")
			return
		}
		http.NotFound(w, r)
	}))
	defer srv.Close()
	fs, text := run(t, ControllerCheck(srv.URL, srv.Client()))
	wantSeverity(t, fs, text, OK, "answers")
	fs, text = run(t, ControllerCheck(srv.URL+"/nothing", srv.Client()))
	wantSeverity(t, fs, text, Problem, "does not answer", "404", "[spam_learning] controller")
	fs, text = run(t, ControllerCheck("", srv.Client()))
	wantSeverity(t, fs, text, OK, "off")
}
