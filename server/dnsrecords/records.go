// Package dnsrecords says which DNS records a Postern domain needs (MX, SPF with the
// smart host's include, the provider's DKIM, DMARC, MTA-STS and TLS-RPT when chosen,
// TLSA for DANE, and the SRV and autoconfig records mail clients look for) and checks,
// record by record, what the DNS actually publishes.
//
// It holds no state and writes nothing: Records is a pure function of Options, and Check
// asks the given resolvers over miekg/dns. A lookup that fails (timeout, SERVFAIL) is
// reported as such for that record and the check goes on.
package dnsrecords

import (
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"fmt"
	"strings"

	"github.com/postern/postern/smtp/relay"
)

// Options describe the domain and how it sends.
type Options struct {
	Domain   string
	Hostname string
	Relay    string // a smtp/relay preset name ("fastmail"); "" = direct delivery
	MTASTS   bool   // publish MTA-STS (RFC 8461); Postern serves the policy ([mta_sts])
	MTASTSID string // the policy's id (config.MTASTSPolicyID); "" means "1"
	TLSRPT   bool   // publish TLS-RPT (RFC 8460)
	DMARC    string // policy: "none", "quarantine" (default) or "reject"
	// Cert is the certificate served on port 25 (DER leaf), for the TLSA record; nil
	// leaves TLSA out.
	Cert *x509.Certificate
}

// Record is one record to publish.
type Record struct {
	Name  string `json:"name"` // fully qualified, without the trailing dot
	Type  string `json:"type"` // MX, TXT, CNAME, TLSA, SRV
	Value string `json:"value"`
	Why   string `json:"why"`
}

// String is the record in zone-file syntax.
func (r Record) String() string {
	v := r.Value
	if r.Type == "TXT" {
		v = `"` + strings.ReplaceAll(v, `"`, `\"`) + `"`
	}
	return fmt.Sprintf("%s. 3600 IN %s %s", r.Name, r.Type, v)
}

// Records lists what o.Domain needs, in the order a person would publish them.
func Records(o Options) []Record {
	d, h := strings.ToLower(o.Domain), strings.ToLower(o.Hostname)
	preset, hasPreset := relay.LookupPreset(o.Relay, "")
	out := []Record{{Name: d, Type: "MX", Value: "10 " + h + ".", Why: "mail for " + d + " comes to this server"}}
	spf := "v=spf1 mx ~all"
	if hasPreset {
		if inc, ok := spfInclude(preset.SPF); ok {
			spf = "v=spf1 " + inc + " ~all"
		} else {
			spf = "v=spf1 ~all"
		}
	}
	out = append(out, Record{Name: d, Type: "TXT", Value: spf, Why: "SPF: who may send mail as " + d})
	out = append(out, dkimRecords(o.Relay, d)...)
	policy := o.DMARC
	if policy == "" {
		policy = "quarantine"
	}
	out = append(out, Record{Name: "_dmarc." + d, Type: "TXT", Value: "v=DMARC1; p=" + policy + "; rua=mailto:postmaster@" + d,
		Why: "DMARC: what receivers do with mail that fails SPF and DKIM"})
	if o.MTASTS {
		id := o.MTASTSID
		if id == "" {
			id = "1"
		}
		out = append(out,
			Record{Name: "_mta-sts." + d, Type: "TXT", Value: "v=STSv1; id=" + id,
				Why: "MTA-STS (RFC 8461): senders fetch the policy when id changes (it follows [mta_sts]; reprint after a change)"},
			Record{Name: "mta-sts." + d, Type: "CNAME", Value: h + ".",
				Why: "the policy is served here over HTTPS (listen.https or acme_tls on 443); add mta-sts." + d + " to tls.acme.names"})
	}
	if o.TLSRPT {
		out = append(out, Record{Name: "_smtp._tls." + d, Type: "TXT", Value: "v=TLSRPTv1; rua=mailto:postmaster@" + d,
			Why: "TLS-RPT (RFC 8460): where senders report TLS problems"})
	}
	if o.Cert != nil {
		sum := sha256.Sum256(o.Cert.RawSubjectPublicKeyInfo)
		out = append(out, Record{Name: "_25._tcp." + h, Type: "TLSA", Value: "3 1 1 " + hex.EncodeToString(sum[:]),
			Why: "DANE (RFC 7672): the key of the certificate on port 25; needs DNSSEC, and must change when the key does (ACME renewals keep the key)"})
	}
	// RFC 6186 service records and the autoconfig name mail clients probe.
	out = append(out,
		Record{Name: "_submissions._tcp." + d, Type: "SRV", Value: "0 1 465 " + h + ".", Why: "mail clients find submission over TLS (RFC 8314)"},
		Record{Name: "_submission._tcp." + d, Type: "SRV", Value: "0 1 587 " + h + ".", Why: "mail clients find submission (RFC 6186)"},
		Record{Name: "_imaps._tcp." + d, Type: "SRV", Value: "0 1 993 " + h + ".", Why: "mail clients find IMAP over TLS (RFC 6186)"},
		Record{Name: "autoconfig." + d, Type: "CNAME", Value: h + ".", Why: "Thunderbird-style autoconfiguration looks here (served on listen.https, acme_tls or acme_http)"},
	)
	return out
}

// spfInclude takes the "include:..." mechanism out of a preset's SPF hint.
func spfInclude(hint string) (string, bool) {
	for _, f := range strings.Fields(hint) {
		if strings.HasPrefix(f, "include:") {
			return f, true
		}
	}
	return "", false
}

// dkimRecords are the provider's DKIM records where they are fixed names (Fastmail's
// three CNAMEs); other providers show theirs in their dashboards (see the preset's DKIM
// hint, which `postern dns records` prints).
func dkimRecords(provider, domain string) []Record {
	if strings.EqualFold(provider, "fastmail") {
		var out []Record
		for i := 1; i <= 3; i++ {
			out = append(out, Record{Name: fmt.Sprintf("fm%d._domainkey.%s", i, domain), Type: "CNAME",
				Value: fmt.Sprintf("fm%d.%s.dkim.fmhosted.com.", i, domain), Why: "DKIM: Fastmail signs your mail with this key"})
		}
		return out
	}
	return nil
}

// DKIMHint is the provider's own words about DKIM when Records cannot list it.
func DKIMHint(provider string) string {
	if strings.EqualFold(provider, "fastmail") {
		return ""
	}
	if p, ok := relay.LookupPreset(provider, ""); ok {
		return p.DKIM
	}
	return ""
}
