package doctor

import (
	"context"
	"crypto/x509"
	"fmt"
	"time"
)

// CertWarnBefore is how long before expiry a certificate is reported.
const CertWarnBefore = 14 * 24 * time.Hour

// CertCheck checks the certificate every TLS listener serves: valid for the hostname,
// not expired, not expiring within CertWarnBefore. selfSigned says it was generated
// by us (clients will warn; fine for a start, not for other servers' STARTTLS).
func CertCheck(hostname string, cert func() (*x509.Certificate, error), selfSigned bool, now func() time.Time) Check {
	return Check{Name: "certificate", Run: func(context.Context) []Finding {
		c, err := cert()
		if err != nil {
			return []Finding{{Severity: Problem, Message: fmt.Sprintf("The certificate cannot be read: %v.", err),
				Fix: "Check [tls] cert and key (or [tls.acme]); postern config check shows the files it uses."}}
		}
		var out []Finding
		if err := c.VerifyHostname(hostname); err != nil {
			out = append(out, Finding{Severity: Problem, Message: fmt.Sprintf("The certificate is not valid for %s (it names %v).", hostname, c.DNSNames),
				Fix: "Get a certificate for " + hostname + " ([tls.acme], or certbot for that name)."})
		}
		left := c.NotAfter.Sub(now())
		days := int(left.Hours() / 24)
		switch {
		case left <= 0:
			out = append(out, Finding{Severity: Problem, Message: fmt.Sprintf("The certificate expired on %s; clients refuse to connect.", c.NotAfter.Format(time.DateOnly)),
				Fix: "Renew it now (certbot renew, or check the [tls.acme] errors in the log), then postern reloads it by itself."})
		case left < CertWarnBefore:
			out = append(out, Finding{Severity: Warning, Message: fmt.Sprintf("The certificate expires in %d days (%s).", days, c.NotAfter.Format(time.DateOnly)),
				Fix: "Renew it before then; a renewal that has not happened 14 days ahead has usually failed (check the renewal's log)."})
		}
		if len(out) == 0 {
			msg := fmt.Sprintf("The certificate is valid for %s for %d more days.", hostname, days)
			if selfSigned {
				msg += " It is self-signed: fine for a first start, but mail clients warn; use [tls.acme]."
			}
			return ok(msg)
		}
		return out
	}}
}
