package dnsbl

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/postern/postern/smtp"
)

// fakeBLResolver answers from a map; other names do not exist.
type fakeBLResolver struct {
	mu      sync.Mutex
	answers map[string][]string
	fail    bool
	queries []string
}

func (r *fakeBLResolver) LookupHost(_ context.Context, host string) ([]string, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.queries = append(r.queries, host)
	if r.fail {
		return nil, &net.DNSError{Err: "server misbehaving", Name: host, IsTemporary: true}
	}
	if a, ok := r.answers[host]; ok {
		return a, nil
	}
	return nil, &net.DNSError{Err: "no such host", Name: host, IsNotFound: true}
}

func TestDNSBL(t *testing.T) {
	t.Parallel()
	clock := newFakeClock(time.Unix(1_700_000_000, 0))
	r := &fakeBLResolver{answers: map[string][]string{
		"2.0.0.127.bl.test.": {"127.0.0.2"},
		"7.2.0.192.bl.test.": {"192.0.2.99"}, // not in 127/8: not a listing
		"1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.second.test.": {"127.0.0.4"},
	}}
	d := &Checker{zones: []string{"first.test", "bl.test."}, resolver: r, now: clock.Now, cache: map[netip.Addr]dnsblEntry{}}
	ctx := context.Background()

	err := d.CheckClient(ctx, netip.MustParseAddr("127.0.0.2"))
	if err == nil || err.Error() != "554 5.7.1 Service unavailable; Client host [127.0.0.2] blocked using bl.test" {
		t.Fatalf("listed client: %v", err)
	}
	if err := d.CheckClient(ctx, netip.MustParseAddr("192.0.2.7")); err != nil {
		t.Fatalf("an answer outside 127/8 listed the client: %v", err)
	}
	d.zones = []string{"second.test"}
	d.cache = map[netip.Addr]dnsblEntry{}
	if err := d.CheckClient(ctx, netip.MustParseAddr("2001:db8::1")); err == nil {
		t.Fatal("listed IPv6 client passed")
	}
	d.zones = []string{"first.test", "bl.test"}
	d.cache = map[netip.Addr]dnsblEntry{}

	// Cached: a second check asks nothing until the TTL passes.
	r.queries = nil
	d.CheckClient(ctx, netip.MustParseAddr("127.0.0.2"))
	d.CheckClient(ctx, netip.MustParseAddr("127.0.0.2"))
	if len(r.queries) != 2 { // first.test (not listed), bl.test (listed)
		t.Fatalf("queries %q, want one per zone", r.queries)
	}
	clock.Add(dnsblTTL + time.Second)
	d.CheckClient(ctx, netip.MustParseAddr("127.0.0.2"))
	if len(r.queries) != 4 {
		t.Fatalf("after the TTL: queries %q", r.queries)
	}

	// A failing DNS is an error (the session logs it and lets the client in),
	// not a cached pass.
	r.fail = true
	var rerr *smtp.ReplyError
	if err := d.CheckClient(ctx, netip.MustParseAddr("198.51.100.1")); err == nil || errors.As(err, &rerr) {
		t.Fatalf("DNS failure: %v, want a plain error", err)
	}
	if _, ok := d.cache[netip.MustParseAddr("198.51.100.1")]; ok {
		t.Fatal("a failed lookup was cached")
	}
}

// fakeClock is a clock the test moves.
type fakeClock struct{ t atomic.Int64 }

func newFakeClock(t time.Time) *fakeClock {
	c := &fakeClock{}
	c.t.Store(t.UnixNano())
	return c
}
func (c *fakeClock) Now() time.Time      { return time.Unix(0, c.t.Load()) }
func (c *fakeClock) Add(d time.Duration) { c.t.Add(int64(d)) }
