package senderauth

import (
	"fmt"
	"strings"
	"testing"

	"blitiri.com.ar/go/spf"
)

// Issue 14 item 8: one message must not make us send an unbounded number of DNS
// queries, whatever its From: or the sender's SPF record holds.

func fromMessage(from string) []byte {
	return []byte("From: " + from + "\r\nTo: x@ours.example\r\nSubject: hi\r\n\r\nHello.\r\n")
}

func TestDMARCManyFromDomainsRefusedWithoutLookups(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	c := w.checker()
	var addrs []string
	for i := range 3000 {
		addrs = append(addrs, fmt.Sprintf("u%d@d%d.example", i, i))
	}
	before := w.dns.Queries()
	res := w.check(t, c, "a@nothing.example", "mail.relay.example", fromMessage(strings.Join(addrs, ", ")))
	if res.DMARC.Result != "permerror" || res.Action != Reject || !strings.Contains(res.Reason, "6.6.1") {
		t.Errorf("3000 From: domains: DMARC %+v, action %v (%s)", res.DMARC, res.Action, res.Reason)
	}
	if n := w.dns.Queries() - before; n > 30 {
		t.Errorf("3000 From: domains cost %d DNS queries", n)
	}
}

func TestDMARCManyAddressesFewDomains(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	c := w.checker()
	var addrs []string
	for i := range 3000 {
		addrs = append(addrs, fmt.Sprintf("u%d@other.example", i), fmt.Sprintf("v%d@good.example", i))
	}
	before := w.dns.Queries()
	res := w.check(t, c, "a@good.example", "mail.relay.example", fromMessage(strings.Join(addrs, ", ")))
	// Each domain is evaluated once; other.example fails and its p=reject decides
	// (the strictest policy, RFC 7489 section 6.6.1).
	if res.DMARC.Result != "fail" || res.DMARC.Domain != "other.example" || res.Action != Reject {
		t.Errorf("DMARC %+v, action %v", res.DMARC, res.Action)
	}
	if n := w.dns.Queries() - before; n > 20 {
		t.Errorf("6000 addresses in 2 domains cost %d DNS queries", n)
	}
}

func TestSPFLookupLimit(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	for i := range 30 {
		w.dns.TXT(fmt.Sprintf("l%d.loop.example", i), fmt.Sprintf("v=spf1 include:l%d.loop.example -all", i+1))
	}
	w.dns.TXT("loop.example", "v=spf1 include:l0.loop.example a mx -all")
	c := w.checker(func(o *Options) { o.DKIM, o.DMARC = false, false })
	before := w.dns.Queries()
	res := w.check(t, c, "a@loop.example", "helo.nothing.example", message("x.example"))
	if res.SPF.Result != spf.PermError {
		t.Errorf("a 30-deep include chain: SPF %s (%s), want permerror", res.SPF.Result, res.SPF.Reason)
	}
	// RFC 7208 section 4.6.4: at most 10 DNS-querying terms after the first
	// record, for each of the two identities checked.
	if n := w.dns.Queries() - before; n > 2*(1+10+2) {
		t.Errorf("SPF evaluation cost %d DNS queries", n)
	}
}

func TestQueryBudgetDefers(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	c := w.checker(func(o *Options) { o.MaxQueries = 3 })
	before := w.dns.Queries()
	res := w.check(t, c, "a@good.example", "mail.relay.example", w.sign(t, message("good.example"), "good.example", "sel"))
	if res.Action != Defer {
		t.Errorf("with the budget spent: action %v (%s), DMARC %+v, want defer", res.Action, res.Reason, res.DMARC)
	}
	if n := w.dns.Queries() - before; n > 3 {
		t.Errorf("a budget of 3 queries made %d", n)
	}
	// The same message with the default budget passes.
	if res := w.check(t, w.checker(), "a@good.example", "mail.relay.example", w.sign(t, message("good.example"), "good.example", "sel")); res.Action != Accept || res.DMARC.Result != "pass" {
		t.Errorf("default budget: action %v, DMARC %+v", res.Action, res.DMARC)
	}
}

// TestDKIMHugeHeaderNotVerified: a header past MaxDKIMHeader is not handed to the
// verifier (which would hold it all in memory); its signature counts as broken.
func TestDKIMHugeHeaderNotVerified(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	c := w.checker()
	line := "X-Filler: " + strings.Repeat("f", 90) + "\r\n"
	filler := strings.Repeat(line, (1<<20)/len(line)+100)
	msg := w.sign(t, append([]byte(filler), message("good.example")...), "good.example", "sel")
	res := w.check(t, c, "a@other.example", "mail.relay.example", msg)
	if len(res.DKIM) != 1 || res.DKIM[0].Result != "permerror" || res.DMARC.Result == "pass" {
		t.Errorf("DKIM %+v, DMARC %+v", res.DKIM, res.DMARC)
	}
	if h := c.Header(res, "a@other.example"); !strings.Contains(h, "dkim=permerror (header block over 1 MiB") || strings.Contains(h, "header.d=\"\"") {
		t.Errorf("header %q", h)
	}
	// Just under the bound it is verified as usual.
	small := w.sign(t, append([]byte(strings.Repeat(line, (500<<10)/len(line))), message("good.example")...), "good.example", "sel")
	if res := w.check(t, c, "a@other.example", "mail.relay.example", small); len(res.DKIM) != 1 || res.DKIM[0].Result != "pass" {
		t.Errorf("a 500 KiB header: DKIM %+v", res.DKIM)
	}
}
