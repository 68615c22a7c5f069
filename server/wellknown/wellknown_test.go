package wellknown

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/postern/postern/server/config"
)

type oneDomain string

func (d oneDomain) HasDomain(_ context.Context, name string) (bool, error) {
	return strings.EqualFold(name, string(d)), nil
}

func wkConfig(mode string) *config.Config {
	cfg := config.Default()
	cfg.Hostname = "mail.example.test"
	cfg.Listen = config.Listen{IMAPS: ":993", Submissions: ":465", Submission: ":587"}
	cfg.MTASTS.Mode = mode
	cfg.MTASTS.MX = []string{"mail.example.test", "*.backup.example.test"}
	return &cfg
}

func wkGet(t *testing.T, wk *Handler, method, host, target string) *httptest.ResponseRecorder {
	t.Helper()
	r := httptest.NewRequest(method, target, nil)
	r.Host = host
	w := httptest.NewRecorder()
	wk.ServeHTTP(w, r)
	return w
}

func TestWellKnownMTASTS(t *testing.T) {
	t.Parallel()
	wk := New(wkConfig("enforce"), oneDomain("example.test"), nil, true)
	w := wkGet(t, wk, "GET", "MTA-STS.example.test:443", "/.well-known/mta-sts.txt")
	want := "version: STSv1\r\nmode: enforce\r\nmx: mail.example.test\r\nmx: *.backup.example.test\r\nmax_age: 604800\r\n"
	if w.Code != 200 || w.Body.String() != want || !strings.HasPrefix(w.Header().Get("Content-Type"), "text/plain") {
		t.Fatalf("policy: %d %q %q", w.Code, w.Header().Get("Content-Type"), w.Body.String())
	}
	for _, c := range []struct {
		name, method, host string
		wk                 *Handler
		code               int
	}{
		{"another domain", "GET", "mta-sts.other.test", wk, 404},
		{"not under mta-sts.", "GET", "example.test", wk, 404},
		{"plain HTTP", "GET", "mta-sts.example.test", New(wk.cfg, wk.dir, nil, false), 404},
		{"mode off", "GET", "mta-sts.example.test", New(wkConfig(""), wk.dir, nil, true), 404},
		{"POST", "POST", "mta-sts.example.test", wk, 405},
	} {
		if w := wkGet(t, c.wk, c.method, c.host, "/.well-known/mta-sts.txt"); w.Code != c.code {
			t.Errorf("%s: %d, want %d", c.name, w.Code, c.code)
		}
	}
	// The id follows the policy.
	a, b := wkConfig("testing"), wkConfig("enforce")
	if a.MTASTSPolicyID() == b.MTASTSPolicyID() || len(a.MTASTSPolicyID()) != 20 {
		t.Errorf("policy ids %q and %q", a.MTASTSPolicyID(), b.MTASTSPolicyID())
	}
}

func TestWellKnownAutoconfig(t *testing.T) {
	t.Parallel()
	wk := New(wkConfig(""), oneDomain("example.test"), nil, false)
	w := wkGet(t, wk, "GET", "autoconfig.example.test", "/mail/config-v1.1.xml?emailaddress=alice%40example.test")
	body := w.Body.String()
	if w.Code != http.StatusOK || !strings.Contains(w.Header().Get("Content-Type"), "xml") {
		t.Fatalf("%d %q", w.Code, body)
	}
	// imaps, then submissions, then submission; imap is off, so not offered.
	for _, want := range []string{`<clientConfig version="1.1">`, `<emailProvider id="example.test">`,
		`<incomingServer type="imap">`, "<port>993</port>", "<socketType>SSL</socketType>",
		"<port>465</port>", "<port>587</port>", "<socketType>STARTTLS</socketType>", "<username>%EMAILADDRESS%</username>",
		"<hostname>mail.example.test</hostname>"} {
		if !strings.Contains(body, want) {
			t.Errorf("autoconfig lacks %q:\n%s", want, body)
		}
	}
	if strings.Count(body, "<incomingServer") != 1 || strings.Index(body, "<port>465</port>") > strings.Index(body, "<port>587</port>") {
		t.Errorf("servers offered in the wrong number or order:\n%s", body)
	}
	for _, c := range []struct{ host, target string }{
		{"autoconfig.other.test", "/mail/config-v1.1.xml"},
		{"autoconfig.example.test", "/mail/config-v1.1.xml?emailaddress=bob%40other.test"},
		{"example.test", "/mail/other.xml"},
	} {
		if w := wkGet(t, wk, "GET", c.host, c.target); w.Code != 404 {
			t.Errorf("%s%s: %d, want 404", c.host, c.target, w.Code)
		}
	}
}

func TestCertProblems(t *testing.T) {
	t.Parallel()
	if p := CertProblems(wkConfig(""), []string{"example.test"}); p != nil {
		t.Fatalf("no policy, yet %v", p)
	}
	// Self-signed, no listener on 443: both said.
	cfg := wkConfig("enforce")
	if p := CertProblems(cfg, []string{"example.test"}); len(p) != 2 || !strings.Contains(p[1].Message, "self-signed") {
		t.Fatalf("self-signed without https: %v", p)
	}
	// ACME that covers one domain's mta-sts name but not the other's.
	cfg.Listen.HTTPS = ":443"
	cfg.TLS.ACME = &config.ACME{Names: []string{"mail.example.test", "mta-sts.example.test"}}
	p := CertProblems(cfg, []string{"example.test", "other.test"})
	if len(p) != 1 || p[0].Attrs[1] != "mta-sts.other.test" {
		t.Fatalf("ACME names: %v", p)
	}
}
