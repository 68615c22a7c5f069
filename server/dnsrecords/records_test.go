package dnsrecords

import (
	"context"
	"net"
	"strings"
	"testing"

	"github.com/miekg/dns"
)

func TestRecordsFastmail(t *testing.T) {
	t.Parallel()
	rs := Records(Options{Domain: "example.com", Hostname: "mail.example.com", Relay: "fastmail", TLSRPT: true})
	var all []string
	for _, r := range rs {
		all = append(all, r.String())
	}
	text := strings.Join(all, "\n")
	for _, want := range []string{
		`example.com. 3600 IN MX 10 mail.example.com.`,
		`example.com. 3600 IN TXT "v=spf1 include:spf.messagingengine.com ~all"`,
		`fm1._domainkey.example.com. 3600 IN CNAME fm1.example.com.dkim.fmhosted.com.`,
		`fm3._domainkey.example.com. 3600 IN CNAME fm3.example.com.dkim.fmhosted.com.`,
		`_dmarc.example.com. 3600 IN TXT "v=DMARC1; p=quarantine; rua=mailto:postmaster@example.com"`,
		`_smtp._tls.example.com. 3600 IN TXT "v=TLSRPTv1; rua=mailto:postmaster@example.com"`,
		`_submissions._tcp.example.com. 3600 IN SRV 0 1 465 mail.example.com.`,
		`autoconfig.example.com. 3600 IN CNAME mail.example.com.`,
	} {
		if !strings.Contains(text, want) {
			t.Errorf("records lack %q:\n%s", want, text)
		}
	}
	if strings.Contains(text, "_mta-sts") {
		t.Error("MTA-STS listed although not chosen")
	}
}

// fakeServer answers from zone-file lines; other names are NXDOMAIN.
func fakeServer(t *testing.T, zone string) string {
	t.Helper()
	recs := map[string][]dns.RR{}
	for _, l := range strings.Split(strings.TrimSpace(zone), "\n") {
		rr, err := dns.NewRR(l)
		if err != nil {
			t.Fatal(err)
		}
		k := strings.ToLower(rr.Header().Name) + dns.TypeToString[rr.Header().Rrtype]
		recs[k] = append(recs[k], rr)
	}
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &dns.Server{PacketConn: pc, Handler: dns.HandlerFunc(func(w dns.ResponseWriter, r *dns.Msg) {
		m := new(dns.Msg)
		m.SetReply(r)
		q := r.Question[0]
		m.Answer = recs[strings.ToLower(q.Name)+dns.TypeToString[q.Qtype]]
		if len(m.Answer) == 0 {
			m.Rcode = dns.RcodeNameError
		}
		w.WriteMsg(m)
	})}
	go srv.ActivateAndServe()
	t.Cleanup(func() { srv.Shutdown() })
	return pc.LocalAddr().String()
}

func TestCheck(t *testing.T) {
	t.Parallel()
	addr := fakeServer(t, `
example.com. 60 IN MX 10 mail.example.com.
example.com. 60 IN TXT "v=spf1 mx -all"
fm1._domainkey.example.com. 60 IN CNAME fm1.example.com.dkim.fmhosted.com.
fm2._domainkey.example.com. 60 IN CNAME fm2.other.example.dkim.fmhosted.com.
_dmarc.example.com. 60 IN TXT "v=DMARC1; p=none"
_submissions._tcp.example.com. 60 IN SRV 0 1 465 mail.example.com.
`)
	want := Records(Options{Domain: "example.com", Hostname: "mail.example.com", Relay: "fastmail"})
	got := map[string]Status{}
	for _, r := range Check(context.Background(), []string{addr}, want) {
		got[r.Record.Name+" "+r.Record.Type] = r.Status
	}
	for k, st := range map[string]Status{
		"example.com MX":                    OK,
		"example.com TXT":                   Wrong, // SPF without Fastmail's include
		"fm1._domainkey.example.com CNAME":  OK,
		"fm2._domainkey.example.com CNAME":  Wrong,
		"fm3._domainkey.example.com CNAME":  Missing,
		"_dmarc.example.com TXT":            OK,
		"_submissions._tcp.example.com SRV": OK,
		"_imaps._tcp.example.com SRV":       Missing,
		"autoconfig.example.com CNAME":      Missing,
	} {
		if got[k] != st {
			t.Errorf("%s: %q, want %q", k, got[k], st)
		}
	}
}
