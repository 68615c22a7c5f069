package localsubmit

import (
	"testing"
	"time"
)

// TestUIDRate: each uid has its own window of a minute; root and a limit of 0 are free.
func TestUIDRate(t *testing.T) {
	t.Parallel()
	now := time.Unix(1000, 0)
	r := newUIDRate(2, func() time.Time { return now })
	first, second, third := r.allow(1000), r.allow(1000), r.allow(1000)
	if !first || !second || third {
		t.Fatal("uid 1000: want 2 allowed, the third refused")
	}
	if !r.allow(1001) {
		t.Error("uid 1001 is limited by uid 1000's messages")
	}
	for range 10 {
		if !r.allow(0) {
			t.Fatal("root is limited")
		}
	}
	now = now.Add(61 * time.Second)
	if !r.allow(1000) {
		t.Error("uid 1000 still refused after a minute")
	}
	free := newUIDRate(0, time.Now)
	for range 100 {
		if !free.allow(5) {
			t.Fatal("a limit of 0 refused")
		}
	}
}
