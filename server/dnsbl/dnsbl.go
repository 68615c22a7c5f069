package dnsbl

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strings"
	"sync"
	"time"

	"github.com/postern/postern/smtp"
)

// dnsblTTL is how long an answer is reused: short, so that a delisted client
// is let in soon, long enough that a client's many connections cost one
// lookup per zone.
const dnsblTTL = 5 * time.Minute

// dnsblMaxCache bounds the cache; above it, expired entries are swept.
const dnsblMaxCache = 10000

// Checker is the smtp.ClientCheck of [dnsbl] zones: the client's address,
// reversed, is looked up in each zone (RFC 5782 section 2); an A record in
// 127.0.0.0/8 lists it. Answers (listed or not) are cached for dnsblTTL; a
// lookup that fails (other than "no such name") is not cached and lets the
// client through, as Postfix does.
type Checker struct {
	zones    []string
	resolver interface {
		LookupHost(ctx context.Context, host string) ([]string, error)
	}
	now func() time.Time

	mu    sync.Mutex
	cache map[netip.Addr]dnsblEntry
}

type dnsblEntry struct {
	zone    string // "" when not listed
	expires time.Time
}

// New returns the check of zones through r.
func New(zones []string, r *net.Resolver, now func() time.Time) *Checker {
	return &Checker{zones: zones, resolver: r, now: now, cache: map[netip.Addr]dnsblEntry{}}
}

// CheckClient answers 554 5.7.1 in Postfix's words for a listed client.
func (d *Checker) CheckClient(ctx context.Context, ip netip.Addr) error {
	ip = ip.Unmap()
	now := d.now()
	d.mu.Lock()
	e, ok := d.cache[ip]
	d.mu.Unlock()
	if !ok || now.After(e.expires) {
		zone, err := d.lookup(ctx, ip)
		if err != nil {
			return err
		}
		e = dnsblEntry{zone: zone, expires: now.Add(dnsblTTL)}
		d.mu.Lock()
		if len(d.cache) >= dnsblMaxCache {
			for k, v := range d.cache {
				if now.After(v.expires) {
					delete(d.cache, k)
				}
			}
		}
		d.cache[ip] = e
		d.mu.Unlock()
	}
	if e.zone == "" {
		return nil
	}
	return smtp.Reply(554, [3]int{5, 7, 1}, "Service unavailable; Client host [%s] blocked using %s", ip, e.zone)
}

// lookup returns the first zone that lists ip, or "".
func (d *Checker) lookup(ctx context.Context, ip netip.Addr) (string, error) {
	rev := reverseName(ip)
	for _, zone := range d.zones {
		zone = strings.TrimSuffix(zone, ".")
		addrs, err := d.resolver.LookupHost(ctx, rev+"."+zone+".")
		var dnsErr *net.DNSError
		if errors.As(err, &dnsErr) && dnsErr.IsNotFound {
			continue
		}
		if err != nil {
			return "", fmt.Errorf("dnsbl %s: %w", zone, err)
		}
		for _, a := range addrs {
			// RFC 5782 section 2.1: answers are in 127.0.0.0/8; anything else
			// (a wildcard, a hijacking resolver) is not a listing.
			if p, err := netip.ParseAddr(a); err == nil && p.Is4() && p.As4()[0] == 127 {
				return zone, nil
			}
		}
	}
	return "", nil
}

// reverseName is the DNSBL query label for ip: the IPv4 octets or the IPv6
// nibbles in reverse order (RFC 5782 sections 2.1 and 2.4).
func reverseName(ip netip.Addr) string {
	if ip.Is4() {
		b := ip.As4()
		return fmt.Sprintf("%d.%d.%d.%d", b[3], b[2], b[1], b[0])
	}
	b := ip.As16()
	var sb strings.Builder
	for i := len(b) - 1; i >= 0; i-- {
		fmt.Fprintf(&sb, "%x.%x.", b[i]&0xf, b[i]>>4)
	}
	return strings.TrimSuffix(sb.String(), ".")
}
