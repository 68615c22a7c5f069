package limits

import (
	"net/netip"
	"sync"
	"testing"
	"time"

	"github.com/postern/postern/server/config"
	"github.com/postern/postern/smtp"
)

// fakeClock is a clock the test moves.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *fakeClock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

func TestRateLimiter(t *testing.T) {
	t.Parallel()
	clock := &fakeClock{t: time.Unix(1_700_000_000, 0)}
	l := NewRates(config.Limits{MessagesPerMinutePerIP: 2, RecipientsPerMinutePerIP: 3,
		MessagesPerMinutePerUser: 1, RecipientsPerMinutePerUser: 0}, clock.Now)
	mx := &smtp.Session{Role: smtp.RoleMX, RemoteAddr: netip.MustParseAddrPort("192.0.2.1:1000")}
	other := &smtp.Session{Role: smtp.RoleMX, RemoteAddr: netip.MustParseAddrPort("192.0.2.2:1000")}
	trusted := &smtp.Session{Role: smtp.RoleMX, RemoteAddr: netip.MustParseAddrPort("127.0.0.1:1000"), Trusted: true}
	user := &smtp.Session{Role: smtp.RoleSubmission, RemoteAddr: netip.MustParseAddrPort("192.0.2.1:1001"), User: "alice@example.test"}

	for i := range 2 {
		if err := l.Message(mx); err != nil {
			t.Fatalf("message %d: %v", i+1, err)
		}
	}
	if err := l.Message(mx); err == nil || err.Error() != "450 4.7.1 Error: too much mail from 192.0.2.1" {
		t.Fatalf("third message: %v, want 450 4.7.1", err)
	}
	if err := l.Message(other); err != nil {
		t.Fatalf("another client is limited too: %v", err)
	}
	for range 10 {
		if err := l.Message(trusted); err != nil {
			t.Fatalf("a trusted client is limited: %v", err)
		}
	}
	for i := range 3 {
		if err := l.Recipient(mx); err != nil {
			t.Fatalf("recipient %d: %v", i+1, err)
		}
	}
	if err := l.Recipient(mx); err == nil || err.Error() != "452 4.5.3 Error: too many recipients from 192.0.2.1" {
		t.Fatalf("fourth recipient: %v, want 452 4.5.3", err)
	}
	// The user is counted apart from the IP address it connects from.
	if err := l.Message(user); err != nil {
		t.Fatal(err)
	}
	if err := l.Message(user); err == nil || err.Error() != "450 4.7.1 Error: too much mail from user alice@example.test" {
		t.Fatalf("second message of the user: %v", err)
	}
	for range 50 {
		if err := l.Recipient(user); err != nil {
			t.Fatalf("recipients_per_minute_per_user = 0 limits: %v", err)
		}
	}
	// A window later everything is allowed again, and idle keys are swept.
	clock.Add(time.Minute)
	if err := l.Message(mx); err != nil {
		t.Fatalf("after a minute: %v", err)
	}
	if err := l.Message(user); err != nil {
		t.Fatalf("after a minute: %v", err)
	}
	l.mu.Lock()
	n := len(l.events)
	l.mu.Unlock()
	if n != 2 {
		t.Errorf("%d counters after the sweep, want 2", n)
	}
}
