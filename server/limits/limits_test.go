package limits

import (
	"context"
	"errors"
	"net/netip"
	"testing"
	"time"
)

func TestNetworksOf(t *testing.T) {
	t.Parallel()
	var n Networks
	for in, want := range map[string]string{
		"192.0.2.7":             "192.0.2.7/32",
		"::ffff:192.0.2.7":      "192.0.2.7/32",
		"2001:db8:1:2:3:4:5:6":  "2001:db8:1:2::/64",
		"2001:db8:1:2:ffff::99": "2001:db8:1:2::/64",
	} {
		if got := n.Of(netip.MustParseAddr(in)).String(); got != want {
			t.Errorf("Of(%s) = %s, want %s", in, got, want)
		}
	}
	if got := (Networks{V4Bits: 24, V6Bits: 48}).Of(netip.MustParseAddr("192.0.2.7")).String(); got != "192.0.2.0/24" {
		t.Errorf("/24: %s", got)
	}
	if n.Of(netip.Addr{}).IsValid() {
		t.Error("a unix peer has a network")
	}
}

func TestConnsPerNetworkAndTrusted(t *testing.T) {
	t.Parallel()
	c := NewConns(ConnConfig{Max: 5, PerNetwork: 2, PerTrustedNetwork: 3, Trusted: []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}})
	a1 := netip.MustParseAddr("2001:db8::1")
	a2 := netip.MustParseAddr("2001:db8::2") // same /64
	r1, err := c.Admit(a1)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Admit(a2); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Admit(netip.MustParseAddr("2001:db8::3")); !errors.Is(err, ErrTooManyFromNetwork) {
		t.Fatalf("third from one /64: %v", err)
	}
	r1()
	r1() // twice is harmless
	if _, err := c.Admit(a1); err != nil {
		t.Fatalf("after release: %v", err)
	}
	// Trusted networks have their own limit, they are not exempt.
	lan := netip.MustParseAddr("10.1.1.1")
	for i := 0; i < 3; i++ {
		if _, err := c.Admit(lan); err != nil {
			t.Fatalf("trusted %d: %v", i, err)
		}
	}
	if _, err := c.Admit(netip.MustParseAddr("198.51.100.1")); !errors.Is(err, ErrTooManyConnections) {
		t.Fatalf("over the total: %v (open %d)", err, c.Open())
	}
}

func TestConnsTrustedLimit(t *testing.T) {
	t.Parallel()
	c := NewConns(ConnConfig{PerNetwork: 1, PerTrustedNetwork: 2, Trusted: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}})
	lo := netip.MustParseAddr("127.0.0.1")
	for i := 0; i < 2; i++ {
		if _, err := c.Admit(lo); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := c.Admit(lo); !errors.Is(err, ErrTooManyFromNetwork) {
		t.Fatalf("trusted network over its limit: %v", err)
	}
}

func TestUsers(t *testing.T) {
	t.Parallel()
	u := NewUsers(2, 3, []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}, Networks{})
	ip := netip.MustParseAddr("192.0.2.1")
	r, _ := u.Admit("alice@example.test", ip)
	u.Admit("alice@example.test", ip)
	if _, err := u.Admit("alice@example.test", ip); !errors.Is(err, ErrTooManyForUser) {
		t.Fatalf("third: %v", err)
	}
	if _, err := u.Admit("alice@example.test", netip.MustParseAddr("192.0.2.2")); err != nil {
		t.Fatalf("another network: %v", err)
	}
	r()
	if _, err := u.Admit("alice@example.test", ip); err != nil {
		t.Fatalf("after release: %v", err)
	}
	lan := netip.MustParseAddr("10.0.0.5")
	for i := 0; i < 3; i++ {
		if _, err := u.Admit("alice@example.test", lan); err != nil {
			t.Fatalf("trusted %d: %v", i, err)
		}
	}
	if _, err := u.Admit("alice@example.test", lan); !errors.Is(err, ErrTooManyForUser) {
		t.Fatalf("trusted over its limit: %v", err)
	}
}

func TestNormalizeAccount(t *testing.T) {
	t.Parallel()
	for _, in := range []string{"alice@example.test", " aLiCe@Example.TEST", "ALICE+phone@example.test", "alice@example.test."} {
		if got := NormalizeAccount(in, "+"); got != "alice@example.test" {
			t.Errorf("%q -> %q", in, got)
		}
	}
	if got := NormalizeAccount("alice+x@example.test", ""); got != "alice+x@example.test" {
		t.Errorf("no delimiter: %q", got)
	}
}

type clock struct {
	now   time.Time
	slept []time.Duration
}

func testLogins(c *clock) *Logins {
	return NewLogins(LoginConfig{SlowAfter: 3, LockAfter: 10, MaxDelay: 8 * time.Second, Window: 15 * time.Minute, Delimiter: "+",
		Now:   func() time.Time { return c.now },
		Sleep: func(_ context.Context, d time.Duration) error { c.slept = append(c.slept, d); return nil }})
}

func TestLoginsPairLockAndSlowDown(t *testing.T) {
	t.Parallel()
	c := &clock{now: time.Unix(1_700_000_000, 0)}
	l := testLogins(c)
	ctx := context.Background()
	for i := 0; i < 10; i++ {
		if err := l.Allow(ctx, "192.0.2.1", "alice@example.test"); err != nil {
			t.Fatalf("attempt %d refused early: %v", i, err)
		}
		l.Record("192.0.2.1", "alice@example.test", false)
	}
	if len(c.slept) != 7 || c.slept[0] != time.Second || c.slept[1] != 2*time.Second || c.slept[6] != 8*time.Second {
		t.Fatalf("delays %v", c.slept)
	}
	var lock *LockedOut
	if err := l.Allow(ctx, "192.0.2.1", "ALICE+x@Example.test"); !errors.As(err, &lock) {
		t.Fatalf("pair not locked for a case variant: %v", err)
	}
	// The owner's other networks keep working, and the attacker's network may still log
	// in to other accounts.
	if err := l.Allow(ctx, "198.51.100.7", "alice@example.test"); err != nil {
		t.Fatalf("owner's network locked: %v", err)
	}
	if err := l.Allow(ctx, "192.0.2.1", "mallory@example.test"); err != nil {
		t.Fatalf("other account locked: %v", err)
	}
	c.now = c.now.Add(15*time.Minute + time.Second)
	if err := l.Allow(ctx, "192.0.2.1", "alice@example.test"); err != nil {
		t.Fatalf("still locked after the window: %v", err)
	}
}

func TestLoginsOtherSuccessDoesNotClear(t *testing.T) {
	t.Parallel()
	c := &clock{now: time.Unix(1_700_000_000, 0)}
	l := testLogins(c)
	ctx := context.Background()
	variants := []string{"aLiCe@Example.test", "ALICE@example.test", "alice@EXAMPLE.test", "Alice+x@example.test"}
	locked := false
	for i := 0; i < 60 && !locked; i++ {
		if i%5 == 4 {
			l.Record("192.0.2.1", "mallory@example.test", true)
		}
		err := l.Allow(ctx, "192.0.2.1", variants[i%len(variants)])
		if err != nil {
			locked = true
			break
		}
		l.Record("192.0.2.1", variants[i%len(variants)], false)
	}
	if !locked {
		t.Fatal("60 mixed-case guesses with the attacker's own logins between did not lock the account")
	}
}

func TestLoginsNetworkLock(t *testing.T) {
	t.Parallel()
	c := &clock{now: time.Unix(1_700_000_000, 0)}
	l := testLogins(c)
	for i := 0; i < 30; i++ {
		l.Record("2001:db8::"+string(rune('a'+i%6)), "user"+string(rune('a'+i))+"@example.test", false)
	}
	var lock *LockedOut
	if err := l.Allow(context.Background(), "2001:db8::ffff", "new@example.test"); !errors.As(err, &lock) {
		t.Fatalf("a /64 spraying accounts is not locked: %v", err)
	}
	if !l.NetworkLocked("2001:db8::1") || l.NetworkLocked("2001:db8:1::1") {
		t.Fatal("NetworkLocked")
	}
}

func TestLoginsDistributedSlowDown(t *testing.T) {
	t.Parallel()
	c := &clock{now: time.Unix(1_700_000_000, 0)}
	l := testLogins(c)
	ctx := context.Background()
	l.Record("203.0.113.9", "alice@example.test", true) // the owner's home
	for i := 0; i < 30; i++ {
		l.Record("198.51.100."+string(rune('0'+i%10))+string(rune('0'+i/10)), "alice@example.test", false)
	}
	c.slept = nil
	if err := l.Allow(ctx, "192.0.2.200", "alice@example.test"); err != nil {
		t.Fatal(err)
	}
	if err := l.Allow(ctx, "192.0.2.201", "alice@example.test"); err != nil {
		t.Fatal(err)
	}
	if len(c.slept) != 1 || c.slept[0] != 8*time.Second {
		t.Fatalf("distributed attempts not spaced: %v", c.slept)
	}
	for i := 0; i < maxQueue+1; i++ {
		l.Allow(ctx, "192.0.2.202", "alice@example.test")
	}
	var lock *LockedOut
	if err := l.Allow(ctx, "192.0.2.203", "alice@example.test"); !errors.As(err, &lock) {
		t.Fatalf("queue not bounded: %v", err)
	}
	// The owner's own network is not slowed down.
	c.slept = nil
	if err := l.Allow(ctx, "203.0.113.9", "alice@example.test"); err != nil || len(c.slept) != 0 {
		t.Fatalf("owner slowed: %v %v", err, c.slept)
	}
}

func TestLoginsPenalize(t *testing.T) {
	t.Parallel()
	c := &clock{now: time.Unix(1_700_000_000, 0)}
	l := testLogins(c)
	for i := 0; i < 30; i++ {
		l.Penalize("192.0.2.9")
	}
	if !l.NetworkLocked("192.0.2.9") {
		t.Fatal("penalties do not lock the network")
	}
}
