package doctor

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"testing"
)

// sessions are n port-25 sessions from client (trusted or not), greeting as helo(i).
func sessions(n int, client string, trusted bool, helo func(i int) string) []Session {
	out := make([]Session, n)
	for i := range out {
		out[i] = Session{Client: netip.MustParseAddr(client), Role: "mx", Trusted: trusted, HELO: helo(i)}
	}
	return out
}

func TestProxyInFront(t *testing.T) {
	t.Parallel()
	servers := func(i int) string { return fmt.Sprintf("mx%d.sender%d.example", i, i%7) }
	own := []string{"mail.example.test", "example.test"}
	check := func(ss []Session, err error) Check {
		return ProxyCheck(func(context.Context) ([]Session, error) { return ss, err }, own)
	}
	// Behind a port forward: the internet's servers all arrive from the bridge's gateway.
	fs, text := run(t, check(sessions(40, "172.17.0.1", true, servers), nil))
	wantSeverity(t, fs, text, Problem, "Every recent connection to port 25 came from trusted 172.17.0.1", "may relay", "userland-proxy", "40 connections")
	// The owner's own programs on loopback, as localhost, their container names, our name.
	mine := func(i int) string {
		return []string{"localhost", "nextcloud", "mail.example.test", "[127.0.0.1]", "gitea.local", "box.localdomain"}[i%6]
	}
	fs, text = run(t, check(sessions(40, "127.0.0.1", true, mine), nil))
	wantSeverity(t, fs, text, OK, "no sign of a proxy")
	// Strangers reach us directly, and the doctor's own probe does not count as one.
	direct := sessions(30, "192.0.2.7", false, servers)
	fs, text = run(t, check(append(direct, sessions(3, "127.0.0.1", true, mine)...), nil))
	wantSeverity(t, fs, text, OK, "3 trusted and 30 other")
	probe := sessions(5, "192.0.2.1", false, func(int) string { return probeHELO })
	fs, text = run(t, check(append(sessions(20, "127.0.0.1", true, servers), probe...), nil))
	wantSeverity(t, fs, text, Problem, "came from trusted 127.0.0.1")
	// Part of it through a proxy (IPv4 forwarded, IPv6 direct).
	fs, text = run(t, check(append(sessions(20, "127.0.0.1", true, servers), sessions(20, "2001:db8::5", false, servers)...), nil))
	wantSeverity(t, fs, text, Warning, "part of the traffic")
	// Too little to tell, and a trace that cannot be read.
	fs, text = run(t, check(sessions(3, "127.0.0.1", true, servers), nil))
	wantSeverity(t, fs, text, OK, "Too few")
	fs, text = run(t, check(nil, errors.New("disk on fire")))
	wantSeverity(t, fs, text, Warning, "disk on fire")
}
