package dnsrecords

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/miekg/dns"
)

// Status is a record's state in the DNS.
type Status string

const (
	OK      Status = "ok"
	Missing Status = "missing"
	Wrong   Status = "wrong"
	Failed  Status = "lookup failed"
)

// Result is one record's check.
type Result struct {
	Record Record   `json:"record"`
	Status Status   `json:"status"`
	Found  []string `json:"found,omitempty"` // what the DNS has at that name and type
	Detail string   `json:"detail,omitempty"`
}

// Check looks every record up through servers ("ip:port") and compares.
func Check(ctx context.Context, servers []string, want []Record) []Result {
	out := make([]Result, 0, len(want))
	for _, r := range want {
		found, err := lookup(ctx, servers, r.Name, dns.StringToType[r.Type])
		res := Result{Record: r, Found: found}
		switch {
		case err != nil:
			res.Status, res.Detail = Failed, err.Error()
		case len(found) == 0:
			res.Status = Missing
		case matches(r, found):
			res.Status = OK
		default:
			res.Status = Wrong
			res.Detail = fmt.Sprintf("want %s", r.Value)
		}
		out = append(out, res)
	}
	return out
}

// matches decides whether what was found satisfies the wanted record. TXT records are
// judged by their kind (an SPF record must carry the include, DMARC its tag), the others
// by their exact value among those found.
func matches(r Record, found []string) bool {
	norm := func(s string) string {
		return strings.ToLower(strings.TrimSuffix(strings.Join(strings.Fields(s), " "), "."))
	}
	if r.Type != "TXT" {
		return slices.ContainsFunc(found, func(f string) bool { return norm(f) == norm(r.Value) })
	}
	prefix, _, _ := strings.Cut(r.Value, " ")
	prefix = strings.TrimSuffix(prefix, ";")
	for _, f := range found {
		if !strings.HasPrefix(strings.ToLower(f), strings.ToLower(prefix)) {
			continue
		}
		if prefix == "v=spf1" {
			for _, tok := range strings.Fields(r.Value) {
				if strings.HasPrefix(tok, "include:") && !slices.Contains(strings.Fields(f), tok) {
					return false
				}
			}
		}
		return true
	}
	return false
}

// lookup returns the records of type t at name as text (the rdata only).
func lookup(ctx context.Context, servers []string, name string, t uint16) ([]string, error) {
	if len(servers) == 0 {
		cc, err := dns.ClientConfigFromFile("/etc/resolv.conf")
		if err != nil {
			return nil, fmt.Errorf("no [dns] servers and no /etc/resolv.conf: %w", err)
		}
		for _, s := range cc.Servers {
			servers = append(servers, s+":"+cc.Port)
		}
	}
	m := new(dns.Msg)
	m.SetQuestion(dns.Fqdn(name), t)
	m.RecursionDesired = true
	c := &dns.Client{Timeout: 5 * time.Second}
	var lastErr error
	for _, s := range servers {
		in, _, err := c.ExchangeContext(ctx, m, s)
		if err != nil {
			lastErr = err
			continue
		}
		if in.Rcode == dns.RcodeNameError {
			return nil, nil
		}
		if in.Rcode != dns.RcodeSuccess {
			lastErr = fmt.Errorf("%s answered %s", s, dns.RcodeToString[in.Rcode])
			continue
		}
		var out []string
		for _, rr := range in.Answer {
			if rr.Header().Rrtype != t {
				continue
			}
			if txt, ok := rr.(*dns.TXT); ok {
				out = append(out, strings.Join(txt.Txt, ""))
				continue
			}
			out = append(out, strings.TrimPrefix(rr.String(), rr.Header().String()))
		}
		return out, nil
	}
	return nil, lastErr
}
