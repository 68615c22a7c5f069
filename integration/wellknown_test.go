package integration

import (
	"encoding/xml"
	"net"
	"net/url"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"
)

// wkCurl fetches url with curl, sending name to 127.0.0.1 on the URL's port (as DNS
// would send autoconfig.DOMAIN or mta-sts.DOMAIN to this server); -k because the test
// server's certificate is self-signed for its hostname. It returns the body and curl's exit code
// (22 for an HTTP error with -f).
func wkCurl(t *testing.T, name, rawURL string) (string, int) {
	t.Helper()
	curl := needTool(t, "curl")
	u, err := url.Parse(rawURL)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(curl, "-fsSk", "--resolve", name+":"+u.Port()+":127.0.0.1", rawURL)
	out, err := cmd.Output()
	if ee, ok := err.(*exec.ExitError); ok {
		return string(out), ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return string(out), 0
}

// TestWellKnownFiles: the MTA-STS policy over HTTPS on mta-sts.DOMAIN, and Thunderbird's
// autoconfiguration over HTTPS and HTTP, for local domains only; `postern dns records`
// prints the _mta-sts id of the policy served.
func TestWellKnownFiles(t *testing.T) {
	t.Parallel()
	s := NewServer(t, Options{NoStart: true, Extra: "[mta_sts]\nmode = \"testing\"\n"})
	withListen(t, s, map[string]string{"https": "127.0.0.1:0", "acme_http": "127.0.0.1:0"})
	rxSetup(t, s, "alice")
	https, http := s.Addrs["https"], s.Addrs["acme_http"]
	_, hp, _ := net.SplitHostPort(https)
	_, pp, _ := net.SplitHostPort(http)

	policy, code := wkCurl(t, "mta-sts.example.test", "https://mta-sts.example.test:"+hp+"/.well-known/mta-sts.txt")
	if want := "version: STSv1\r\nmode: testing\r\nmx: mail.example.test\r\nmax_age: 604800\r\n"; code != 0 || policy != want {
		t.Fatalf("MTA-STS policy: curl exit %d, %q, want %q", code, policy, want)
	}
	for _, c := range []struct{ name, url string }{
		{"mta-sts.other.test", "https://mta-sts.other.test:" + hp + "/.well-known/mta-sts.txt"},    // not our domain
		{"mta-sts.example.test", "http://mta-sts.example.test:" + pp + "/.well-known/mta-sts.txt"}, // not over HTTP
		{"autoconfig.other.test", "https://autoconfig.other.test:" + hp + "/mail/config-v1.1.xml"},
	} {
		if body, code := wkCurl(t, c.name, c.url); code != 22 {
			t.Errorf("%s: curl exit %d (want 22, an HTTP error): %q", c.url, code, body)
		}
	}

	for _, c := range []struct{ name, url string }{
		{"autoconfig.example.test", "https://autoconfig.example.test:" + hp + "/mail/config-v1.1.xml?emailaddress=alice%40example.test"},
		{"autoconfig.example.test", "http://autoconfig.example.test:" + pp + "/mail/config-v1.1.xml"},
		{"example.test", "https://example.test:" + hp + "/.well-known/autoconfig/mail/config-v1.1.xml?emailaddress=alice%40example.test"},
	} {
		body, code := wkCurl(t, c.name, c.url)
		if code != 0 {
			t.Fatalf("%s: curl exit %d", c.url, code)
		}
		var cc struct {
			Provider struct {
				Domain   string `xml:"domain"`
				Incoming []struct {
					Type     string `xml:"type,attr"`
					Port     int    `xml:"port"`
					Socket   string `xml:"socketType"`
					Username string `xml:"username"`
				} `xml:"incomingServer"`
				Outgoing []struct {
					Port   int    `xml:"port"`
					Socket string `xml:"socketType"`
				} `xml:"outgoingServer"`
			} `xml:"emailProvider"`
		}
		if err := xml.Unmarshal([]byte(body), &cc); err != nil {
			t.Fatalf("%s: %v\n%s", c.url, err, body)
		}
		p := cc.Provider
		port := func(name string) int {
			_, ps, _ := net.SplitHostPort(s.Addrs[name])
			n, _ := strconv.Atoi(ps)
			return n
		}
		if p.Domain != "example.test" || len(p.Incoming) != 2 || len(p.Outgoing) != 2 ||
			p.Incoming[0].Port != port("imaps") || p.Incoming[0].Socket != "SSL" || p.Incoming[0].Username != "%EMAILADDRESS%" ||
			p.Incoming[1].Port != port("imap") || p.Incoming[1].Socket != "STARTTLS" ||
			p.Outgoing[0].Port != port("submissions") || p.Outgoing[0].Socket != "SSL" ||
			p.Outgoing[1].Port != port("submission") || p.Outgoing[1].Socket != "STARTTLS" {
			t.Errorf("%s: %+v\n%s", c.url, p, body)
		}
	}

	// The test server's certificate is self-signed, which senders do not accept for a
	// policy: the server says so at start.
	waitLog(t, s, "mta_sts: senders ignore a policy served with a self-signed certificate", 10*time.Second)

	recs := s.MustCLI("dns", "records", "example.test")
	if !strings.Contains(recs, "mta-sts.example.test. 3600 IN CNAME mail.example.test.") ||
		!strings.Contains(recs, `_mta-sts.example.test. 3600 IN TXT "v=STSv1; id=`) {
		t.Errorf("dns records lack MTA-STS:\n%s", recs)
	}
}
