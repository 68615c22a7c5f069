package doctor

import (
	"context"
	"crypto/x509"
	"fmt"
	"os"

	"github.com/postern/postern/smtp/relay"
)

// RelaySpec is one smart host as configured.
type RelaySpec struct {
	Table  string // "[relay]" or "[relays.NAME]"
	Name   string // "" for [relay], else NAME
	Host   string
	Port   int
	TLS    string // starttls, implicit, none
	CAFile string
}

// RelayCheck reports the step of the smart-host test (smtp/relay.Diagnose, as postern
// relay test runs it) that failed, with its explanation: a refused password comes with
// the provider's advice (Fastmail's app password and plan, Gmail's app password...).
func RelayCheck(table string, test func(ctx context.Context) relay.Report) Check {
	return Check{Name: "relay", Run: func(ctx context.Context) []Finding {
		rep := test(ctx)
		for _, s := range rep.Steps {
			if s.OK {
				continue
			}
			fix := s.Explain
			if fix == "" {
				fix = "Run postern relay test for the details."
			}
			return []Finding{{Severity: Problem, Message: fmt.Sprintf("The smart host of %s fails at %s: %s.", table, s.Name, s.Detail), Fix: fix}}
		}
		if !rep.OK {
			return []Finding{{Severity: Problem, Message: "The smart host test of " + table + " failed.", Fix: "Run postern relay test for the details."}}
		}
		return ok("The smart host of " + table + " accepts our connection, TLS and credentials.")
	}}
}

// TLSModeCheck reports a port and TLS mode that do not go together: 465 is implicit
// TLS from the first byte, 587 is plain SMTP then STARTTLS. Such a relay hangs or
// answers garbage, and every message waits in the queue.
func TLSModeCheck(relays []RelaySpec) Check {
	return Check{Name: "relay-tls", Run: func(context.Context) []Finding {
		var out []Finding
		for _, r := range relays {
			switch {
			case r.Port == 465 && r.TLS != "implicit":
				out = append(out, Finding{Severity: Problem,
					Message: fmt.Sprintf("%s uses port 465 with tls = %q, but port 465 expects TLS from the first byte (implicit TLS).", r.Table, r.TLS),
					Fix:     fmt.Sprintf("In %s set tls = \"implicit\", or use port 587 with tls = \"starttls\".", r.Table)})
			case r.Port == 587 && r.TLS == "implicit":
				out = append(out, Finding{Severity: Problem,
					Message: fmt.Sprintf("%s uses port 587 with tls = \"implicit\", but port 587 expects plain SMTP, then STARTTLS.", r.Table),
					Fix:     fmt.Sprintf("In %s set tls = \"starttls\", or use port 465 with tls = \"implicit\".", r.Table)})
			case r.TLS == "none" && !isLocalHost(r.Host):
				out = append(out, Finding{Severity: Warning,
					Message: fmt.Sprintf("%s sends to %s without TLS.", r.Table, r.Host),
					Fix:     "Use tls = \"starttls\" (port 587) or \"implicit\" (port 465); without TLS anyone on the path reads the mail."})
			}
		}
		if len(out) == 0 {
			return ok("Every smart host's TLS mode matches its port.")
		}
		return out
	}}
}

func isLocalHost(h string) bool { return h == "localhost" || h == "127.0.0.1" || h == "::1" }

// CACheck verifies that the CA bundle the relay client needs is there: each relay's
// ca_file must be readable PEM, and without one the system's CA store must load.
func CACheck(relays []RelaySpec, systemPool func() (*x509.CertPool, error)) Check {
	return Check{Name: "ca-bundle", Run: func(context.Context) []Finding {
		var out []Finding
		needSystem := false
		for _, r := range relays {
			if r.TLS == "none" {
				continue
			}
			if r.CAFile == "" {
				needSystem = true
				continue
			}
			data, err := os.ReadFile(r.CAFile)
			if err != nil {
				out = append(out, Finding{Severity: Problem, Message: fmt.Sprintf("The ca_file of %s cannot be read: %v.", r.Table, err),
					Fix: "Point ca_file at the PEM bundle of the relay's CA, or remove it to use the system's CAs."})
				continue
			}
			if !x509.NewCertPool().AppendCertsFromPEM(data) {
				out = append(out, Finding{Severity: Problem, Message: fmt.Sprintf("The ca_file of %s (%s) holds no PEM certificate.", r.Table, r.CAFile),
					Fix: "Point ca_file at a PEM file (-----BEGIN CERTIFICATE-----)."})
			}
		}
		if needSystem {
			if pool, err := systemPool(); err != nil || pool == nil || pool.Equal(x509.NewCertPool()) {
				out = append(out, Finding{Severity: Problem, Message: "The system's CA bundle is missing or empty, so no relay certificate can be verified.",
					Fix: "Install the CA certificates (Debian: apt install ca-certificates; in a container, copy /etc/ssl/certs)."})
			}
		}
		if len(out) == 0 {
			return ok("The CA certificates to verify the smart hosts are present.")
		}
		return out
	}}
}
