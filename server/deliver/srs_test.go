package deliver

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func TestSRS(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 11, 21, 12, 0, 0, 0, time.UTC)
	s, err := loadSRS(t.TempDir(), func() time.Time { return now })
	if err != nil {
		t.Fatal(err)
	}
	fwd := s.Forward("Bob.Smith@example.org", "example.test")
	if !strings.HasPrefix(fwd, "SRS0=") || !strings.HasSuffix(fwd, "@example.test") {
		t.Fatalf("Forward = %q", fwd)
	}
	local := fwd[:strings.LastIndexByte(fwd, '@')]
	if hh := strings.Split(local, "=")[1]; len(hh) != 8 || strings.ToUpper(hh) != hh {
		t.Fatalf("hash %q: want 8 base32 characters", hh)
	}
	for _, l := range []string{local, strings.ToLower(local)} {
		orig, err := s.Reverse(l)
		if err != nil || !strings.EqualFold(orig, "Bob.Smith@example.org") {
			t.Fatalf("Reverse(%q) = %q, %v", l, orig, err)
		}
	}
	// Our own senders and the null sender are not rewritten.
	if got := s.Forward("alice@example.test", "example.test"); got != "alice@example.test" {
		t.Fatalf("own domain rewritten: %q", got)
	}
	if got := s.Forward("", "example.test"); got != "" {
		t.Fatalf("null sender rewritten: %q", got)
	}
	// Forged hash: refused (otherwise we would relay bounces to anyone).
	forged := strings.Replace(local, local[5:13], "AAAAAAAA", 1)
	if _, err := s.Reverse(forged); !errors.Is(err, errSRS) {
		t.Fatalf("forged SRS accepted: %v", err)
	}
	if _, err := s.Reverse("alice"); !errors.Is(err, errSRS) {
		t.Fatal("plain local part taken for SRS")
	}
	// Too old.
	now = now.Add(30 * 24 * time.Hour)
	if _, err := s.Reverse(local); !errors.Is(err, errSRS) {
		t.Fatalf("30-day-old SRS accepted: %v", err)
	}
	// The key persists: a second load reverses what the first made.
	now = now.Add(-30 * 24 * time.Hour)
	dir := t.TempDir()
	a, _ := loadSRS(dir, func() time.Time { return now })
	b, _ := loadSRS(dir, func() time.Time { return now })
	f := a.Forward("x@example.org", "example.test")
	if orig, err := b.Reverse(f[:strings.LastIndexByte(f, '@')]); err != nil || orig != "x@example.org" {
		t.Fatalf("key not persisted: %q %v", orig, err)
	}
}

// TestSRSLegacyTransition: a 4-character hash of the old format still decodes within
// srsMaxAge days of the upgrade, and not after; a short or long hash never does.
func TestSRSLegacyTransition(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 11, 21, 12, 0, 0, 0, time.UTC)
	s, err := loadSRS(t.TempDir(), func() time.Time { return now })
	if err != nil {
		t.Fatal(err)
	}
	tt := s.day(now)
	old := "SRS0=" + s.legacyHash(tt, "example.org", "bob") + "=" + tt + "=example.org=bob"
	if orig, err := s.Reverse(old); err != nil || orig != "bob@example.org" {
		t.Fatalf("old address during the transition: %q %v", orig, err)
	}
	if _, err := s.Reverse(strings.ToLower(old)); err != nil {
		t.Fatalf("old address lower-cased: %v", err)
	}
	for _, hh := range []string{"A", "ABCDEF", "ABCDEFGHIJ"} {
		if _, err := s.Reverse("SRS0=" + hh + "=" + tt + "=example.org=bob"); !errors.Is(err, errSRS) {
			t.Fatalf("hash %q accepted", hh)
		}
	}
	now = now.Add((srsMaxAge + 1) * 24 * time.Hour)
	tt = s.day(now)
	old = "SRS0=" + s.legacyHash(tt, "example.org", "bob") + "=" + tt + "=example.org=bob"
	if _, err := s.Reverse(old); !errors.Is(err, errSRS) {
		t.Fatalf("old format after the transition window: %v", err)
	}
	// A date in the future is refused too.
	future := s.day(now.Add(48 * time.Hour))
	if _, err := s.Reverse("SRS0=" + s.hash(future, "example.org", "bob") + "=" + future + "=example.org=bob"); !errors.Is(err, errSRS) {
		t.Fatalf("future-dated SRS accepted: %v", err)
	}
}
