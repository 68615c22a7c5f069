package server

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/postern/postern/server/config"
)

func TestAuthLimiter(t *testing.T) {
	t.Parallel()
	now := time.Unix(1_700_000_000, 0)
	var slept []time.Duration
	l := newAuthLimiter(config.Default().Limits)
	l.now = func() time.Time { return now }
	l.sleep = func(_ context.Context, d time.Duration) error { slept = append(slept, d); return nil }
	ctx := context.Background()

	for i := 0; i < 3; i++ {
		if err := l.Allow(ctx, "192.0.2.1", "alice@example.test"); err != nil {
			t.Fatal(err)
		}
		l.Record("192.0.2.1", "alice@example.test", false)
	}
	if len(slept) != 0 {
		t.Fatalf("slowed down before %d failures: %v", l.slowAfter, slept)
	}
	// From the third failure on, attempts wait, doubling.
	for i := 3; i < 10; i++ {
		if err := l.Allow(ctx, "192.0.2.1", "alice@example.test"); err != nil {
			t.Fatalf("attempt %d refused early: %v", i, err)
		}
		l.Record("192.0.2.1", "alice@example.test", false)
	}
	if slept[0] != time.Second || slept[1] != 2*time.Second || slept[len(slept)-1] != l.maxDelay {
		t.Fatalf("delays %v", slept)
	}
	// Locked out now, per account (from another IP too) and per IP (for another account).
	var lock *errLockedOut
	if err := l.Allow(ctx, "198.51.100.7", "alice@example.test"); !errors.As(err, &lock) {
		t.Fatalf("account not locked: %v", err)
	}
	if err := l.Allow(ctx, "192.0.2.1", "bob@example.test"); !errors.As(err, &lock) {
		t.Fatalf("ip not locked: %v", err)
	}
	// Another IP and account are unaffected.
	if err := l.Allow(ctx, "198.51.100.7", "bob@example.test"); err != nil {
		t.Fatal(err)
	}
	// After the window the lock is gone.
	now = now.Add(l.window + time.Second)
	if err := l.Allow(ctx, "192.0.2.1", "alice@example.test"); err != nil {
		t.Fatalf("still locked after the window: %v", err)
	}
	// A success clears the counters.
	l.Record("192.0.2.1", "alice@example.test", false)
	l.Record("192.0.2.1", "alice@example.test", true)
	if len(l.fails) != 0 {
		t.Fatalf("counters left after success: %v", l.fails)
	}
}
