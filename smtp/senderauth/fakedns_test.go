package senderauth

import (
	"context"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/miekg/dns"
)

// fakeDNS is an in-process DNS server: TXT, A and MX records by name, names
// that answer SERVFAIL, NXDOMAIN for the rest.
type fakeDNS struct {
	addr     string
	mu       sync.Mutex
	rrs      map[string][]dns.RR // "name. TYPE"
	servfail map[string]bool     // "name."
	queries  int                 // questions answered so far
}

// Queries returns how many questions the server has answered.
func (f *fakeDNS) Queries() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.queries
}

func startFakeDNS(t *testing.T) *fakeDNS {
	t.Helper()
	f := &fakeDNS{rrs: map[string][]dns.RR{}, servfail: map[string]bool{}}
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", pc.LocalAddr().String())
	if err != nil {
		t.Fatal(err)
	}
	f.addr = pc.LocalAddr().String()
	udp := &dns.Server{PacketConn: pc, Handler: f}
	tcp := &dns.Server{Listener: ln, Handler: f}
	go udp.ActivateAndServe()
	go tcp.ActivateAndServe()
	t.Cleanup(func() { udp.Shutdown(); tcp.Shutdown() })
	return f
}

func fqdn(name string) string { return strings.ToLower(dns.Fqdn(name)) }

// TXT publishes a TXT record, split into 255-octet strings as zone files do.
func (f *fakeDNS) TXT(name, value string) {
	var parts []string
	for len(value) > 255 {
		parts, value = append(parts, value[:255]), value[255:]
	}
	parts = append(parts, value)
	f.add(&dns.TXT{Hdr: dns.RR_Header{Name: fqdn(name), Rrtype: dns.TypeTXT, Class: dns.ClassINET, Ttl: 60}, Txt: parts})
}

// A publishes an A record.
func (f *fakeDNS) A(name, ip string) {
	f.add(&dns.A{Hdr: dns.RR_Header{Name: fqdn(name), Rrtype: dns.TypeA, Class: dns.ClassINET, Ttl: 60}, A: net.ParseIP(ip)})
}

// ServFail makes every query for name answer SERVFAIL.
func (f *fakeDNS) ServFail(name string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.servfail[fqdn(name)] = true
}

func (f *fakeDNS) add(rr dns.RR) {
	f.mu.Lock()
	defer f.mu.Unlock()
	k := rr.Header().Name + " " + dns.TypeToString[rr.Header().Rrtype]
	f.rrs[k] = append(f.rrs[k], rr)
}

func (f *fakeDNS) ServeDNS(w dns.ResponseWriter, r *dns.Msg) {
	m := new(dns.Msg)
	m.SetReply(r)
	m.Authoritative = true
	if len(r.Question) == 1 {
		q := r.Question[0]
		name := strings.ToLower(q.Name)
		f.mu.Lock()
		f.queries++
		rrs := f.rrs[name+" "+dns.TypeToString[q.Qtype]]
		exists := false
		for k := range f.rrs {
			if strings.HasPrefix(k, name+" ") {
				exists = true
			}
		}
		fail := f.servfail[name]
		f.mu.Unlock()
		switch {
		case fail:
			m.Rcode = dns.RcodeServerFailure
		case len(rrs) > 0:
			m.Answer = rrs
		case !exists:
			m.Rcode = dns.RcodeNameError
		}
	}
	w.WriteMsg(m)
}

// resolver returns a Go resolver that asks only the fake server.
func (f *fakeDNS) resolver() *net.Resolver {
	d := net.Dialer{Timeout: 2 * time.Second}
	return &net.Resolver{PreferGo: true, Dial: func(ctx context.Context, network, _ string) (net.Conn, error) {
		return d.DialContext(ctx, network, f.addr)
	}}
}
