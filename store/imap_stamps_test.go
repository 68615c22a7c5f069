package store

import (
	"context"
	"testing"
)

func TestFolderStampRoundTrip(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := openTest(t)
	mustDomain(t, s, "example.org")
	mustUser(t, s, "alice@example.org", "pw")
	if _, err := s.EnsureMailbox(ctx, "alice@example.org", "Big", ""); err != nil {
		t.Fatal(err)
	}
	if st, err := s.GetFolderStamp(ctx, "alice@example.org", "Big"); err != nil || st != (FolderStamp{}) {
		t.Fatalf("new mailbox stamp = %+v, %v; want zero", st, err)
	}
	want := FolderStamp{NewNs: 1700000000123456789, CurNs: 1700000001987654321}
	if err := s.SetFolderStamp(ctx, "Alice@example.org", "Big", want); err != nil {
		t.Fatal(err)
	}
	if st, err := s.GetFolderStamp(ctx, "alice@example.org", "Big"); err != nil || st != want {
		t.Fatalf("stamp = %+v, %v; want %+v", st, err, want)
	}
	if st, _ := s.GetFolderStamp(ctx, "alice@example.org", "INBOX"); st != (FolderStamp{}) {
		t.Errorf("INBOX stamp changed too: %+v", st)
	}
	_, err := s.GetFolderStamp(ctx, "alice@example.org", "Nope")
	wantErr(t, err, ErrNotFound)
	if err := s.SetFolderStamp(ctx, "alice@example.org", "Nope", want); err != nil {
		t.Errorf("stamp for a missing mailbox: %v", err)
	}
}
