package doctor

import (
	"context"
	"fmt"

	"github.com/postern/postern/server/dnsrecords"
)

// DNSCheck compares the records each domain needs (MX, SPF with the relay's include,
// DKIM, DMARC, MTA-STS, TLSA: what postern dns records prints) with what DNS answers.
// check runs server/dnsrecords' comparison for one domain.
func DNSCheck(domains []string, check func(ctx context.Context, domain string) []dnsrecords.Result) Check {
	return Check{Name: "dns", Run: func(ctx context.Context) []Finding {
		var out []Finding
		good := 0
		for _, d := range domains {
			for _, r := range check(ctx, d) {
				rec := r.Record
				switch r.Status {
				case dnsrecords.OK:
					good++
				case dnsrecords.Missing:
					out = append(out, Finding{Severity: Problem, Message: fmt.Sprintf("%s has no %s record (%s).", rec.Name, rec.Type, rec.Why),
						Fix: "Publish: " + rec.String()})
				case dnsrecords.Wrong:
					out = append(out, Finding{Severity: Problem, Message: fmt.Sprintf("The %s record of %s is %q, which does not match.", rec.Type, rec.Name, r.Found),
						Fix: "Publish instead: " + rec.String()})
				default:
					out = append(out, Finding{Severity: Warning, Message: fmt.Sprintf("The %s record of %s could not be looked up: %s.", rec.Type, rec.Name, r.Detail),
						Fix: "Check [dns] servers and the network; then postern dns check " + d + "."})
				}
			}
		}
		if len(domains) == 0 {
			return []Finding{{Severity: Warning, Message: "There is no local domain yet.", Fix: "postern domain add DOMAIN"}}
		}
		if len(out) == 0 {
			return ok(fmt.Sprintf("All %d DNS records of %d %s match.", good, len(domains), map[bool]string{true: "domain", false: "domains"}[len(domains) == 1]))
		}
		return out
	}}
}
