package store

import (
	"context"
	"path/filepath"
	"testing"
	"time"
)

func TestVacationLog(t *testing.T) {
	t.Parallel()
	now := time.Unix(1_800_000_000, 0)
	opts := testOptions()
	opts.Now = func() time.Time { return now }
	s, err := Open(context.Background(), filepath.Join(t.TempDir(), "postern.db"), opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	ctx := context.Background()
	mustDomain(t, s, "example.test")
	mustUser(t, s, "alice@example.test", "a long password")
	week := 7 * 24 * time.Hour
	if ok, err := s.VacationReplied(ctx, "alice@example.test", "h1", "bob@example.org", week); err != nil || ok {
		t.Fatalf("before any reply: %v %v", ok, err)
	}
	if err := s.RecordVacation(ctx, "alice@example.test", "h1", "Bob@Example.org", 365*24*time.Hour); err != nil {
		t.Fatal(err)
	}
	if ok, err := s.VacationReplied(ctx, "alice@example.test", "h1", "bob@example.org", week); err != nil || !ok {
		t.Fatalf("right after a reply: %v %v", ok, err)
	}
	if ok, _ := s.VacationReplied(ctx, "alice@example.test", "h2", "bob@example.org", week); ok {
		t.Fatal("another handle is another reply")
	}
	now = now.Add(8 * 24 * time.Hour)
	if ok, _ := s.VacationReplied(ctx, "alice@example.test", "h1", "bob@example.org", week); ok {
		t.Fatal("a week later the sender gets a reply again")
	}
}
