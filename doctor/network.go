package doctor

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"net/textproto"
	"strings"
	"time"
)

// containerNets are the networks of Docker, Podman and Kubernetes bridges: behind a
// port forward or proxy from one of them, every client's address is the bridge's.
var containerNets = []netip.Prefix{netip.MustParsePrefix("172.16.0.0/12"), netip.MustParsePrefix("10.88.0.0/16"),
	netip.MustParsePrefix("10.42.0.0/16"), netip.MustParsePrefix("10.244.0.0/16")}

// TrustedNetworksCheck reports trusted_networks wider than loopback: every client in
// them may relay without a password. A public range is a problem; a private range a
// warning, worse when it is a container bridge (a proxy or port forward in front makes
// every client on the internet look local).
func TrustedNetworksCheck(trusted []netip.Prefix) Check {
	return Check{Name: "trusted-nets", Run: func(context.Context) []Finding {
		var out []Finding
		for _, p := range trusted {
			a := p.Addr()
			switch {
			case a.IsLoopback() && p.Bits() >= 8:
			case p.Bits() == 0 || (!a.IsPrivate() && !a.IsLoopback() && !a.IsLinkLocalUnicast()):
				out = append(out, Finding{Severity: Problem,
					Message: fmt.Sprintf("trusted_networks holds %s, which includes addresses on the internet: anyone there may relay through this server.", p),
					Fix:     "Remove it from [smtp] trusted_networks; clients elsewhere authenticate on submission (587/465)."})
			case overlapsAny(p, containerNets):
				out = append(out, Finding{Severity: Warning,
					Message: fmt.Sprintf("trusted_networks holds %s, a container bridge network: behind a port forward or proxy, every client on the internet arrives from it and may relay.", p),
					Fix:     "Trust only loopback (127.0.0.0/8, ::1/128); let the containers' services use postern sendmail or submission with a password."})
			default:
				out = append(out, Finding{Severity: Warning,
					Message: fmt.Sprintf("trusted_networks holds %s: every machine there may relay without a password.", p),
					Fix:     "Keep it only if every machine in it is yours; a proxy or NAT in front of port 25 would make every client look local."})
			}
		}
		if len(out) == 0 {
			return ok("Only loopback is trusted to relay without a password.")
		}
		return out
	}}
}

func overlapsAny(p netip.Prefix, nets []netip.Prefix) bool {
	for _, n := range nets {
		if n.Overlaps(p) {
			return true
		}
	}
	return false
}

// strangers are the addresses the open-relay test claims to come from (documentation
// ranges, RFC 5737/3849): the first one outside trusted_networks is used.
var strangers = []netip.AddrPort{netip.MustParseAddrPort("192.0.2.1:40000"), netip.MustParseAddrPort("198.51.100.1:40000"),
	netip.MustParseAddrPort("203.0.113.1:40000"), netip.MustParseAddrPort("[2001:db8::1]:40000")}

// Stranger returns an address outside trusted, for the open-relay test; ok is false when
// every candidate is trusted (which is itself an open relay).
func Stranger(trusted []netip.Prefix) (netip.AddrPort, bool) {
	for _, s := range strangers {
		if !overlapsAny(netip.PrefixFrom(s.Addr(), s.Addr().BitLen()), trusted) {
			return s, true
		}
	}
	return netip.AddrPort{}, false
}

// OpenRelayCheck speaks SMTP to our own port 25 as a client from outside
// trusted_networks would (dial gives a connection the server sees as coming from such
// an address) and asks it to relay to a domain that is not ours: MAIL FROM:<> and RCPT
// TO an outside address must be refused. Nothing is ever sent: the test ends at RCPT.
func OpenRelayCheck(dial func(ctx context.Context) (net.Conn, error), outside string) Check {
	return Check{Name: "open-relay", Run: func(ctx context.Context) []Finding {
		c, err := dial(ctx)
		if err != nil {
			return []Finding{{Severity: Warning, Message: fmt.Sprintf("The open-relay test could not run: %v.", err)}}
		}
		defer c.Close()
		if dl, ok := ctx.Deadline(); ok {
			c.SetDeadline(dl)
		} else {
			c.SetDeadline(time.Now().Add(30 * time.Second))
		}
		code, reply, err := relayProbe(textproto.NewConn(c), outside)
		switch {
		case err != nil:
			return []Finding{{Severity: Warning, Message: fmt.Sprintf("The open-relay test could not finish: %v.", err)}}
		case code/100 == 2:
			return []Finding{{Severity: Problem, Message: "This server is an open relay: a client on the internet may send mail through it to anyone (RCPT TO:<" + outside + "> was answered " + reply + ").",
				Fix: "Narrow [smtp] trusted_networks to loopback; then postern doctor again."}}
		}
		return ok(fmt.Sprintf("A client outside trusted_networks may not relay (RCPT TO an outside address: %s).", reply))
	}}
}

// relayProbe runs greeting, EHLO, MAIL FROM:<>, RCPT TO:<outside>, QUIT and returns the
// RCPT reply.
func relayProbe(tp *textproto.Conn, outside string) (int, string, error) {
	if _, _, err := tp.ReadResponse(220); err != nil {
		return 0, "", fmt.Errorf("greeting: %w", err)
	}
	for _, cmd := range []string{"EHLO doctor.invalid", "MAIL FROM:<>"} {
		if err := tp.PrintfLine("%s", cmd); err != nil {
			return 0, "", err
		}
		if _, _, err := tp.ReadResponse(250); err != nil {
			return 0, "", fmt.Errorf("%s: %w", cmd, err)
		}
	}
	if err := tp.PrintfLine("RCPT TO:<%s>", outside); err != nil {
		return 0, "", err
	}
	code, msg, err := tp.ReadResponse(0)
	if err != nil && code == 0 {
		return 0, "", fmt.Errorf("RCPT: %w", err)
	}
	_ = tp.PrintfLine("QUIT")
	return code, fmt.Sprintf("%d %s", code, strings.SplitN(msg, "\n", 2)[0]), nil
}

// MilterCheck reports a configured milter (Rspamd) that does not accept connections:
// depending on default_action, mail arrives unfiltered or is deferred.
func MilterCheck(network, address string, dial func(ctx context.Context, network, address string) (net.Conn, error)) Check {
	return Check{Name: "milter", Run: func(ctx context.Context) []Finding {
		if address == "" {
			return ok("No milter is configured.")
		}
		c, err := dial(ctx, network, address)
		if err != nil {
			return []Finding{{Severity: Problem, Message: fmt.Sprintf("The milter at %s does not answer: %v.", address, err),
				Fix: "Start it (systemctl start rspamd) or fix [milter] address; meanwhile mail is delivered unfiltered or deferred, by [milter] default_action."}}
		}
		c.Close()
		return ok("The milter at " + address + " accepts connections.")
	}}
}
