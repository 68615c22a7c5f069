package doctor

import (
	"context"
	"fmt"
	"net/netip"
	"slices"
	"strings"
)

// Session is one recent connection to an SMTP listener, as the trace kept it.
type Session struct {
	Client  netip.Addr
	Role    string // mx for port 25
	Trusted bool   // the client was in trusted_networks
	HELO    string
}

// Thresholds of ProxyCheck: fewer port-25 connections than minSessions say nothing;
// trusted clients greeting with at least proxyHELODomains different mail domains are
// not the owner's own programs (they greet as localhost or the machine's name).
const (
	minSessions      = 10
	proxyHELODomains = 5
)

// probeHELO is what the open-relay check greets with; its session is not a client's.
const probeHELO = "doctor.invalid"

// ProxyCheck looks at the connections port 25 actually got (recent: the trace's newest)
// for a proxy or port forward in front that makes every client look local: clients
// from a trusted address (loopback, a container bridge) that greet as many different
// mail domains are the internet's servers seen through it, and trusted means they may
// relay and are not checked. All of them so is a problem; some (say IPv6 reaching us
// directly, IPv4 through a proxy) a warning. own are our hostname and domains, whose
// names do not count.
func ProxyCheck(recent func(ctx context.Context) ([]Session, error), own []string) Check {
	return Check{Name: "proxy", Run: func(ctx context.Context) []Finding {
		ss, err := recent(ctx)
		if err != nil {
			return []Finding{{Severity: Warning, Message: fmt.Sprintf("The recent connections could not be read: %v.", err)}}
		}
		var mx []Session
		for _, s := range ss {
			if s.Role == "mx" && !strings.EqualFold(s.HELO, probeHELO) {
				mx = append(mx, s)
			}
		}
		if len(mx) < minSessions {
			return ok(fmt.Sprintf("Too few recent connections to port 25 (%d) to tell whether a proxy in front hides the clients' addresses.", len(mx)))
		}
		domains, addrs, untrusted := proxySigns(mx, own)
		if len(domains) < proxyHELODomains {
			return ok(fmt.Sprintf("The recent connections to port 25 come from %d trusted and %d other clients; no sign of a proxy hiding their addresses.",
				len(mx)-untrusted, untrusted))
		}
		seen := fmt.Sprintf("Seen in the last %d connections: %d from %s, greeting as %s.", len(mx), len(mx)-untrusted,
			strings.Join(addrs, ", "), strings.Join(domains[:min(len(domains), 5)], ", "))
		fix := seen + " Let the clients' addresses reach Postern (publish port 25 without a userland proxy: Docker's \"userland-proxy\": false, " +
			"rootless Podman's pasta network, or host networking), or take the proxy's address out of [smtp] trusted_networks " +
			"(trusted_networks = [] when it is loopback; local programs then use postern sendmail or submission with a password)."
		if untrusted == 0 {
			return []Finding{{Severity: Problem, Message: fmt.Sprintf("Every recent connection to port 25 came from trusted %s, yet the clients greeted as many different mail domains: a proxy or port forward in front makes every client look local, so anyone may relay through this server and no sender is checked.",
				strings.Join(addrs, ", ")), Fix: fix}}
		}
		return []Finding{{Severity: Warning, Message: fmt.Sprintf("Many recent connections to port 25 came from trusted %s greeting as different mail domains: part of the traffic reaches this server through a proxy or port forward that makes those clients look local (they may relay and are not checked).",
			strings.Join(addrs, ", ")), Fix: fix}}
	}}
}

// proxySigns returns, over the trusted sessions of ss, the distinct mail domains their
// HELO names are in (not own, not bare names or address literals) and the distinct
// client addresses, and how many sessions were not trusted.
func proxySigns(ss []Session, own []string) (domains, addrs []string, untrusted int) {
	for _, s := range ss {
		if !s.Trusted {
			untrusted++
			continue
		}
		if a := clientName(s.Client); !slices.Contains(addrs, a) {
			addrs = append(addrs, a)
		}
		if d := heloDomain(s.HELO); d != "" && !ownName(d, own) && !slices.Contains(domains, d) {
			domains = append(domains, d)
		}
	}
	slices.Sort(addrs)
	return domains, addrs, untrusted
}

func clientName(a netip.Addr) string {
	if !a.IsValid() {
		return "a local socket"
	}
	return a.String()
}

// heloDomain is the last two labels of a fully qualified HELO name, lower-cased; ""
// for a bare name (localhost, a container's) or an address literal.
func heloDomain(helo string) string {
	h := strings.ToLower(strings.TrimSuffix(strings.TrimSpace(helo), "."))
	if strings.HasPrefix(h, "[") {
		return ""
	}
	if _, err := netip.ParseAddr(h); err == nil {
		return ""
	}
	labels := strings.Split(h, ".")
	if len(labels) < 2 || labels[len(labels)-1] == "localdomain" || labels[len(labels)-1] == "local" {
		return ""
	}
	return strings.Join(labels[len(labels)-2:], ".")
}

func ownName(d string, own []string) bool {
	for _, o := range own {
		if o = strings.ToLower(o); o == d || strings.HasSuffix(o, "."+d) {
			return true
		}
	}
	return false
}
