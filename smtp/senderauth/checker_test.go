package senderauth

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"io"
	"net/netip"
	"strings"
	"testing"

	"blitiri.com.ar/go/spf"
	"github.com/emersion/go-msgauth/dkim"
)

const client = "192.0.2.10"

// world is a fake DNS with a few sender domains:
//
//	good.example    SPF lists the client, DMARC p=reject, DKIM key "sel"
//	other.example   SPF -all, DMARC p=reject
//	quar.example    SPF -all, DMARC p=quarantine
//	soft.example    SPF ~all, DMARC p=none
//	nodmarc.example SPF lists the client, no DMARC
//	broken.example  SPF TXT answers SERVFAIL, DMARC p=reject
type world struct {
	dns *fakeDNS
	key ed25519.PrivateKey
	rsa *rsa.PrivateKey
}

func newWorld(t *testing.T) *world {
	t.Helper()
	f := startFakeDNS(t)
	_, key, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	rk, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalPKIXPublicKey(&rk.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	f.TXT("good.example", "v=spf1 ip4:"+client+" -all")
	f.TXT("_dmarc.good.example", "v=DMARC1; p=reject")
	f.TXT("sel._domainkey.good.example", "v=DKIM1; k=ed25519; p="+base64.StdEncoding.EncodeToString(key.Public().(ed25519.PublicKey)))
	f.TXT("rsa._domainkey.good.example", "v=DKIM1; k=rsa; p="+base64.StdEncoding.EncodeToString(der))
	f.TXT("other.example", "v=spf1 -all")
	f.TXT("_dmarc.other.example", "v=DMARC1; p=reject")
	f.TXT("sel._domainkey.other.example", "v=DKIM1; k=ed25519; p="+base64.StdEncoding.EncodeToString(key.Public().(ed25519.PublicKey)))
	f.TXT("quar.example", "v=spf1 -all")
	f.TXT("_dmarc.quar.example", "v=DMARC1; p=quarantine")
	f.TXT("soft.example", "v=spf1 ~all")
	f.TXT("_dmarc.soft.example", "v=DMARC1; p=none")
	f.TXT("nodmarc.example", "v=spf1 ip4:"+client+" -all")
	f.ServFail("broken.example")
	f.TXT("_dmarc.broken.example", "v=DMARC1; p=reject")
	f.ServFail("sel._domainkey.dnsfail.example")
	f.TXT("_dmarc.dnsfail.example", "v=DMARC1; p=reject")
	f.TXT("dnsfail.example", "v=spf1 -all")
	f.TXT("mail.relay.example", "v=spf1 ip4:"+client+" -all")
	return &world{dns: f, key: key, rsa: rk}
}

func (w *world) checker(mod ...func(*Options)) *Checker {
	o := Options{AuthServID: "mx.ours.example", Resolver: w.dns.resolver(), SPF: true, DKIM: true, DMARC: true}
	for _, m := range mod {
		m(&o)
	}
	return New(o)
}

func message(from string) []byte {
	return []byte("From: Someone <someone@" + from + ">\r\nTo: x@ours.example\r\nSubject: hi\r\nMessage-ID: <1@" + from + ">\r\n\r\nHello.\r\n")
}

// sign signs msg for domain with selector sel and the world's ed25519 key (or
// RSA for selector "rsa").
func (w *world) sign(t *testing.T, msg []byte, domain, sel string) []byte {
	t.Helper()
	var signer crypto.Signer = w.key
	if sel == "rsa" {
		signer = w.rsa
	}
	var out bytes.Buffer
	err := dkim.Sign(&out, bytes.NewReader(msg), &dkim.SignOptions{Domain: domain, Selector: sel, Signer: signer,
		HeaderCanonicalization: dkim.CanonicalizationRelaxed, BodyCanonicalization: dkim.CanonicalizationRelaxed})
	if err != nil {
		t.Fatal(err)
	}
	return out.Bytes()
}

func (w *world) check(t *testing.T, c *Checker, mailFrom, helo string, msg []byte) *Result {
	t.Helper()
	res, err := c.Check(context.Background(), Input{
		IP: netip.MustParseAddr(client), HELO: helo, MailFrom: mailFrom,
		Open: func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(msg)), nil },
	})
	if err != nil {
		t.Fatal(err)
	}
	return res
}

func TestSPF(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	c := w.checker()
	for _, tc := range []struct {
		from string
		want spf.Result
	}{
		{"a@good.example", spf.Pass},
		{"a@other.example", spf.Fail},
		{"a@soft.example", spf.SoftFail},
		{"a@broken.example", spf.TempError},
		{"a@nothing.example", spf.None},
	} {
		res := w.check(t, c, tc.from, "mail.relay.example", message("x.example"))
		if res.SPF.Result != tc.want {
			t.Errorf("SPF for %s = %s (%s), want %s", tc.from, res.SPF.Result, res.SPF.Reason, tc.want)
		}
		if res.SPFHELO.Result != spf.Pass || res.SPFHELO.Domain != "mail.relay.example" {
			t.Errorf("HELO SPF = %+v, want pass for mail.relay.example", res.SPFHELO)
		}
	}
	// The null sender is checked as postmaster@HELO (RFC 7208 section 2.4).
	res := w.check(t, c, "", "other.example", message("x.example"))
	if res.SPF.Result != spf.Fail || res.SPF.Domain != "other.example" {
		t.Errorf("null sender SPF = %+v, want fail for the HELO domain", res.SPF)
	}
}

func TestDKIM(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	c := w.checker()
	signed := w.sign(t, message("good.example"), "good.example", "sel")
	for _, tc := range []struct {
		name string
		msg  []byte
		want []string // results in order
	}{
		{"valid ed25519", signed, []string{"pass"}},
		{"valid rsa", w.sign(t, message("good.example"), "good.example", "rsa"), []string{"pass"}},
		{"body changed", bytes.Replace(signed, []byte("Hello."), []byte("Hello!"), 1), []string{"fail"}},
		{"header changed", bytes.Replace(signed, []byte("Subject: hi"), []byte("Subject: ho"), 1), []string{"fail"}},
		{"no key", w.sign(t, message("good.example"), "good.example", "gone"), []string{"permerror"}},
		{"key lookup fails", w.sign(t, message("dnsfail.example"), "dnsfail.example", "sel"), []string{"temperror"}},
		{"missing", message("good.example"), nil},
		{"two signatures", w.sign(t, signed, "other.example", "sel"), []string{"pass", "pass"}},
	} {
		res := w.check(t, c, "a@good.example", "mail.relay.example", tc.msg)
		var got []string
		for _, d := range res.DKIM {
			got = append(got, d.Result)
		}
		if strings.Join(got, ",") != strings.Join(tc.want, ",") {
			t.Errorf("%s: DKIM results %v (%+v), want %v", tc.name, got, res.DKIM, tc.want)
		}
	}
}

func TestDMARC(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	c := w.checker()
	for _, tc := range []struct {
		name     string
		mailFrom string
		msg      []byte
		dmarc    string
		action   Action
	}{
		{"SPF aligned", "bounce@good.example", message("good.example"), "pass", Accept},
		{"SPF aligned, relaxed subdomain", "a@good.example", message("news.good.example"), "pass", Accept},
		{"DKIM aligned, SPF fails", "a@other.example", w.sign(t, message("other.example"), "other.example", "sel"), "pass", Accept},
		{"misaligned, p=reject", "a@good.example", message("other.example"), "fail", Reject},
		{"DKIM of another domain, p=reject", "a@other.example", w.sign(t, message("other.example"), "good.example", "sel"), "fail", Reject},
		{"broken DKIM, p=reject", "a@other.example", bytes.Replace(w.sign(t, message("other.example"), "other.example", "sel"), []byte("Hello."), []byte("Bye."), 1), "fail", Reject},
		{"misaligned, p=quarantine", "a@quar.example", message("quar.example"), "fail", Quarantine},
		{"misaligned, p=none", "a@soft.example", message("soft.example"), "fail", Accept},
		{"no record", "a@good.example", message("nodmarc.example"), "none", Accept},
		{"SPF temperror, p=reject", "a@broken.example", message("broken.example"), "temperror", Defer},
		{"SPF temperror but DKIM passes", "a@broken.example", w.sign(t, message("good.example"), "good.example", "sel"), "pass", Accept},
		{"aligned DKIM temperror", "a@dnsfail.example", w.sign(t, message("dnsfail.example"), "dnsfail.example", "sel"), "temperror", Defer},
	} {
		res := w.check(t, c, tc.mailFrom, "mail.relay.example", tc.msg)
		if res.DMARC.Result != tc.dmarc || res.Action != tc.action {
			t.Errorf("%s: dmarc=%s action=%s (%+v, %s), want dmarc=%s action=%s",
				tc.name, res.DMARC.Result, res.Action, res.DMARC, res.Reason, tc.dmarc, tc.action)
		}
		if tc.action == Reject && !strings.Contains(res.Reason, "DMARC policy of") {
			t.Errorf("%s: reason %q does not name the policy", tc.name, res.Reason)
		}
	}
}

func TestDMARCRecordTempFailDefers(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	w.dns.ServFail("_dmarc.tempdmarc.example")
	res := w.check(t, w.checker(), "a@good.example", "mail.relay.example", message("tempdmarc.example"))
	if res.DMARC.Result != "temperror" || res.Action != Defer {
		t.Fatalf("dmarc=%s action=%s, want temperror/defer", res.DMARC.Result, res.Action)
	}
}

func TestDMARCStrictAndSubdomainPolicy(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	w.dns.TXT("_dmarc.strict.example", "v=DMARC1; p=none; sp=reject; aspf=s")
	w.dns.TXT("strict.example", "v=spf1 ip4:"+client+" -all")
	w.dns.TXT("bounce.strict.example", "v=spf1 ip4:"+client+" -all")
	c := w.checker()
	// Strict SPF alignment: bounce.strict.example is not strict.example.
	res := w.check(t, c, "a@bounce.strict.example", "h.example", message("strict.example"))
	if res.DMARC.Result != "fail" || res.Action != Accept || res.DMARC.Policy != "none" {
		t.Errorf("strict misaligned: %+v action %s, want fail with p=none", res.DMARC, res.Action)
	}
	// A subdomain without its own record gets sp= from the organisational domain.
	res = w.check(t, c, "a@other.example", "h.example", message("sub.strict.example"))
	if res.DMARC.Policy != "reject" || res.Action != Reject {
		t.Errorf("subdomain: %+v action %s, want sp=reject applied", res.DMARC, res.Action)
	}
}

func TestDMARCPercent(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	w.dns.TXT("_dmarc.pct.example", "v=DMARC1; p=reject; pct=20")
	for _, tc := range []struct {
		draw int
		want Action
	}{{10, Reject}, {50, Quarantine}} {
		c := w.checker(func(o *Options) { o.Percent = func() int { return tc.draw } })
		res := w.check(t, c, "a@other.example", "h.example", message("pct.example"))
		if res.Action != tc.want {
			t.Errorf("pct=20 draw %d: action %s, want %s", tc.draw, res.Action, tc.want)
		}
	}
}

func TestFromMustBeSingle(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	c := w.checker()
	two := append([]byte("From: a@good.example\r\n"), message("other.example")...)
	none := []byte("To: x@ours.example\r\n\r\nbody\r\n")
	multi := []byte("From: a@good.example, b@other.example\r\n\r\nbody\r\n")
	for name, msg := range map[string][]byte{"two fields": two, "none": none} {
		if res := w.check(t, c, "a@good.example", "h.example", msg); res.Action != Reject || res.DMARC.Result != "permerror" {
			t.Errorf("%s: %+v action %s, want permerror/reject", name, res.DMARC, res.Action)
		}
	}
	// Two mailboxes: each domain must pass; other.example does not.
	if res := w.check(t, c, "a@good.example", "h.example", multi); res.Action != Reject || res.DMARC.Domain != "other.example" {
		t.Errorf("two mailboxes: %+v action %s, want reject for other.example", res.DMARC, res.Action)
	}
}

func TestChecksOff(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	c := w.checker(func(o *Options) { o.SPF, o.DKIM, o.DMARC = false, false, false })
	res := w.check(t, c, "a@other.example", "h.example", message("other.example"))
	if res.Action != Accept || res.SPF.Result != spf.None {
		t.Errorf("checks off: %+v", res)
	}
	if h := c.Header(res, "a@other.example"); h != "Authentication-Results: mx.ours.example;\r\n\tnone\r\n" {
		t.Errorf("header with no checks = %q", h)
	}
}

func TestHeader(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	c := w.checker()
	msg := w.sign(t, message("good.example"), "good.example", "sel")
	res := w.check(t, c, "bounce@good.example", "mail.relay.example", msg)
	h := c.Header(res, "bounce@good.example")
	for _, want := range []string{
		"Authentication-Results: mx.ours.example;\r\n\t",
		"spf=pass smtp.mailfrom=bounce@good.example",
		"spf=pass smtp.helo=mail.relay.example",
		"dkim=pass header.d=good.example header.i=@good.example",
		"dmarc=pass (p=reject dis=NONE) header.from=good.example",
	} {
		if !strings.Contains(h, want) {
			t.Errorf("header %q lacks %q", h, want)
		}
	}
	if !strings.HasSuffix(h, "\r\n") || strings.Contains(strings.ReplaceAll(strings.TrimSuffix(h, "\r\n"), "\r\n\t", ""), "\n") {
		t.Errorf("header is not one folded field: %q", h)
	}
	// A value with specials is quoted.
	if got := pvalue(`a b"c@x`); got != `"a b\"c@x"` {
		t.Errorf("pvalue = %s", got)
	}
}

func TestClaimsAuthServID(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		value string
		want  bool
	}{
		{"mx.ours.example; spf=pass smtp.mailfrom=a@b", true},
		{"MX.Ours.Example; dkim=pass", true},
		{" (forged) mx.ours.example 1; none", true},
		{"mx.ours.example.; none", true},
		{"mx.ours.example", true},
		{"mx.other.example; spf=pass", false},
		{"mx.ours.example.evil; spf=pass", false},
		{"(unterminated comment mx.ours.example; none", false},
		{"\"mx.ours.example\"; none", true},
		{"", false},
	} {
		if got := ClaimsAuthServID(tc.value, "mx.ours.example"); got != tc.want {
			t.Errorf("ClaimsAuthServID(%q) = %v, want %v", tc.value, got, tc.want)
		}
	}
}

func TestOrganizationalDomain(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"a.b.example.com": "example.com",
		"Example.COM.":    "example.com",
		"news.bbc.co.uk":  "bbc.co.uk",
		"co.uk":           "co.uk",
		"x.y.github.io":   "y.github.io",
		"localhost":       "localhost",
	} {
		if got := OrganizationalDomain(in); got != want {
			t.Errorf("OrganizationalDomain(%q) = %q, want %q", in, got, want)
		}
	}
}

func FuzzClaimsAuthServID(f *testing.F) {
	f.Add("mx.ours.example; spf=pass")
	f.Add("(c (nested)) mx.ours.example 1; none")
	f.Add("\"quoted\"; none")
	f.Fuzz(func(t *testing.T, v string) {
		got := ClaimsAuthServID(v, "mx.ours.example")
		if got && !strings.Contains(strings.ToLower(v), "mx.ours.example") {
			t.Fatalf("%q claimed without naming us", v)
		}
	})
}

func FuzzFromDomains(f *testing.F) {
	f.Add([]byte("From: a@b.example\r\n\r\nx"))
	f.Add([]byte("From: \"x\" <a@b.example>, c@d.example\r\n folded\r\n\r\n"))
	f.Add([]byte("Subject: x\r\nFrom:\r\n"))
	f.Fuzz(func(t *testing.T, msg []byte) {
		ds, err := FromDomains(bytes.NewReader(msg))
		if err == nil && len(ds) == 0 {
			t.Fatal("no error and no domain")
		}
		for _, d := range ds {
			if d == "" || d != strings.ToLower(d) {
				t.Fatalf("domain %q", d)
			}
		}
	})
}
