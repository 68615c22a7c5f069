package integration

import (
	"crypto/subtle"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"
)

// pdnsAPI is a test double of the PowerDNS authoritative server's HTTP API (the part of
// /api/v1/servers/{id}/zones that libdns/powerdns uses: list a zone by name, get it with
// its RRsets, PATCH RRsets with changetype REPLACE or DELETE) over the records of a
// fakeDNS, so what the API writes is what the DNS side answers, as with a real PowerDNS.
type pdnsAPI struct {
	URL     string
	dns     *fakeDNS
	zone    string // "example.test."
	key     string // X-API-Key
	patches int    // PATCH requests applied, under dns.mu
	denied  int    // requests refused for a bad key, under dns.mu
}

type pdnsRecord struct {
	Content  string `json:"content"`
	Disabled bool   `json:"disabled"`
}

type pdnsRRSet struct {
	Name       string       `json:"name"`
	Type       string       `json:"type"`
	TTL        int          `json:"ttl"`
	ChangeType string       `json:"changetype,omitempty"`
	Records    []pdnsRecord `json:"records"`
}

type pdnsZone struct {
	ID     string      `json:"id"`
	Name   string      `json:"name"`
	Kind   string      `json:"kind"`
	URL    string      `json:"url"`
	RRSets []pdnsRRSet `json:"rrsets,omitempty"`
}

func startPDNSAPI(t testing.TB, d *fakeDNS, zone, key string) *pdnsAPI {
	t.Helper()
	p := &pdnsAPI{dns: d, zone: zone, key: key}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p.URL = "http://" + ln.Addr().String()
	srv := &http.Server{Handler: p, ReadHeaderTimeout: 10 * time.Second}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return p
}

func (p *pdnsAPI) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if subtle.ConstantTimeCompare([]byte(r.Header.Get("X-API-Key")), []byte(p.key)) != 1 {
		p.dns.mu.Lock()
		p.denied++
		p.dns.mu.Unlock()
		pdnsError(w, http.StatusUnauthorized, "Unauthorized")
		return
	}
	const zones = "/api/v1/servers/localhost/zones"
	switch rest, ok := strings.CutPrefix(r.URL.Path, zones); {
	case !ok:
		pdnsError(w, http.StatusNotFound, "Not Found")
	case rest == "" && r.Method == http.MethodGet:
		var list []pdnsZone
		if q := r.URL.Query().Get("zone"); q == "" || strings.EqualFold(dns.Fqdn(q), p.zone) {
			list = append(list, p.zoneInfo(false))
		}
		pdnsJSON(w, http.StatusOK, list)
	case strings.TrimPrefix(rest, "/") != p.zone:
		pdnsError(w, http.StatusNotFound, "Could not find domain")
	case r.Method == http.MethodGet:
		pdnsJSON(w, http.StatusOK, p.zoneInfo(true))
	case r.Method == http.MethodPatch:
		p.patch(w, r)
	default:
		pdnsError(w, http.StatusMethodNotAllowed, "Method Not Allowed")
	}
}

func (p *pdnsAPI) zoneInfo(withRRSets bool) pdnsZone {
	z := pdnsZone{ID: p.zone, Name: p.zone, Kind: "Native", URL: "/api/v1/servers/localhost/zones/" + p.zone}
	if !withRRSets {
		return z
	}
	p.dns.mu.Lock()
	defer p.dns.mu.Unlock()
	for k, rrs := range p.dns.records {
		if len(rrs) == 0 || !dns.IsSubDomain(p.zone, strings.Fields(k)[0]) {
			continue
		}
		h := rrs[0].Header()
		set := pdnsRRSet{Name: h.Name, Type: dns.TypeToString[h.Rrtype], TTL: int(h.Ttl)}
		for _, rr := range rrs {
			set.Records = append(set.Records, pdnsRecord{Content: strings.TrimPrefix(rr.String(), rr.Header().String())})
		}
		z.RRSets = append(z.RRSets, set)
	}
	sort.Slice(z.RRSets, func(i, j int) bool { return z.RRSets[i].Name+z.RRSets[i].Type < z.RRSets[j].Name+z.RRSets[j].Type })
	return z
}

// patch applies the RRsets as PowerDNS does: REPLACE sets the RRset to the records given
// (none deletes it), DELETE removes it; a name outside the zone or a record that does not
// parse is 422 and changes nothing.
func (p *pdnsAPI) patch(w http.ResponseWriter, r *http.Request) {
	var body struct {
		RRSets []pdnsRRSet `json:"rrsets"`
	}
	if err := json.NewDecoder(io.LimitReader(r.Body, 1<<20)).Decode(&body); err != nil {
		pdnsError(w, http.StatusBadRequest, err.Error())
		return
	}
	next := make(map[string][]dns.RR)
	for _, set := range body.RRSets {
		if !strings.HasSuffix(set.Name, ".") || !dns.IsSubDomain(p.zone, set.Name) {
			pdnsError(w, http.StatusUnprocessableEntity, fmt.Sprintf("RRset %s IN %s: Name is out of zone", set.Name, set.Type))
			return
		}
		k := strings.ToLower(set.Name) + " " + strings.ToUpper(set.Type)
		next[k] = nil
		if set.ChangeType == "DELETE" {
			continue
		}
		if set.ChangeType != "REPLACE" {
			pdnsError(w, http.StatusUnprocessableEntity, "changetype must be REPLACE or DELETE")
			return
		}
		for _, rec := range set.Records {
			rr, err := dns.NewRR(fmt.Sprintf("%s %d IN %s %s", set.Name, set.TTL, set.Type, rec.Content))
			if err != nil || rr == nil {
				pdnsError(w, http.StatusUnprocessableEntity, fmt.Sprintf("record %s/%s '%s': %v", set.Name, set.Type, rec.Content, err))
				return
			}
			next[k] = append(next[k], rr)
		}
	}
	p.dns.mu.Lock()
	for k, rrs := range next {
		if len(rrs) == 0 {
			delete(p.dns.records, k)
		} else {
			p.dns.records[k] = rrs
		}
	}
	p.patches++
	p.dns.mu.Unlock()
	w.WriteHeader(http.StatusNoContent)
}

// Counts returns the PATCH requests applied and the requests refused for their key.
func (p *pdnsAPI) Counts() (patches, denied int) {
	p.dns.mu.Lock()
	defer p.dns.mu.Unlock()
	return p.patches, p.denied
}

func pdnsJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	json.NewEncoder(w).Encode(v)
}

func pdnsError(w http.ResponseWriter, code int, msg string) {
	pdnsJSON(w, code, map[string]string{"error": msg})
}

// TestACMEDNS01PowerDNS gets a certificate from Pebble by dns-01 through the powerdns
// provider: the server writes the challenge TXT record through a PowerDNS HTTP API test
// double, whose records the fake DNS serves to Pebble's validation authority and to
// certmagic's propagation check; the record is removed once the certificate is in.
func TestACMEDNS01PowerDNS(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	caFile, certFile, keyFile := testCA(t, dir)
	dnsSrv := startFakeDNSWith(t, &fakeDNS{loopbackA: true},
		"example.test. 60 IN SOA ns.example.test. hostmaster.example.test. 1 60 60 600 60")
	const key = "postern-pdns-test-key"
	api := startPDNSAPI(t, dnsSrv, "example.test.", key)
	p := runPebble(t, pebbleConfig{Dir: dir, CertFile: certFile, KeyFile: keyFile, DNS: dnsSrv.Addr,
		HTTPPort: reservePort(t), TLSPort: reservePort(t)})

	// The double refuses a wrong key, as PowerDNS does.
	req, _ := http.NewRequest(http.MethodGet, api.URL+"/api/v1/servers/localhost/zones", nil)
	req.Header.Set("X-API-Key", "wrong")
	if res, err := http.DefaultClient.Do(req); err != nil || res.StatusCode != http.StatusUnauthorized {
		t.Fatalf("wrong API key: %v %v, want 401", res, err)
	}

	creds := filepath.Join(dir, "dns.toml")
	if err := os.WriteFile(creds, fmt.Appendf(nil, "server_url = %q\napi_token = %q\n", api.URL, key), 0o600); err != nil {
		t.Fatal(err)
	}
	s := NewServer(t, Options{Extra: fmt.Sprintf("[dns]\nservers = [%q]\n\n"+
		"[tls.acme]\nemail = \"postmaster@example.test\"\ndirectory = %q\nchallenge = \"dns-01\"\nca_file = %q\n"+
		"dns_provider = \"powerdns\"\ndns_credentials = %q\n", dnsSrv.Addr, p.Directory, caFile, creds)})

	waitLogLine(t, s, 90*time.Second, "acme: certificate obtained")
	leaf := waitServed(t, s.Addrs["imaps"], 15*time.Second, "dns-01 issuance through PowerDNS", func(c *x509.Certificate) bool {
		return strings.Contains(c.Issuer.CommonName, "Pebble")
	})
	if len(leaf.DNSNames) != 1 || leaf.DNSNames[0] != "mail.example.test" {
		t.Errorf("dns-01 certificate names %v, want [mail.example.test]", leaf.DNSNames)
	}
	// Published, then cleaned up: two PATCHes at least, no challenge record left, the SOA
	// untouched, and the server never sent a wrong key.
	patches, denied := api.Counts()
	if patches < 2 {
		t.Errorf("%d PowerDNS PATCH requests, want the add and the clean-up", patches)
	}
	if denied != 1 {
		t.Errorf("%d requests refused for their key, want only the test's own", denied)
	}
	dnsSrv.mu.Lock()
	left := dnsSrv.records["_acme-challenge.mail.example.test. TXT"]
	soa := len(dnsSrv.records["example.test. SOA"])
	dnsSrv.mu.Unlock()
	if len(left) != 0 {
		t.Errorf("challenge TXT records left behind: %v", left)
	}
	if soa != 1 {
		t.Errorf("the zone's SOA is gone (%d records)", soa)
	}
}
