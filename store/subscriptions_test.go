package store

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"testing"
)

// TestSubscriptionsOutliveMailboxes: a subscription is a name (RFC 3501 6.3.6): it stays
// when its mailbox is deleted, may name a mailbox that does not exist, follows a rename,
// and an IMAP CREATE neither adds nor drops one.
func TestSubscriptionsOutliveMailboxes(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := openTest(t)
	mustDomain(t, s, "example.org")
	mustUser(t, s, "alice@example.org", "pw")
	const u = "alice@example.org"
	subs := func(want ...string) {
		t.Helper()
		got, err := s.Subscriptions(ctx, u)
		if err != nil || !slices.Equal(got, want) {
			t.Fatalf("subscriptions %q (%v), want %q", got, err, want)
		}
	}
	if err := s.CreateDefaultMailboxes(ctx, u); err != nil {
		t.Fatal(err)
	}
	subs("Archive", "Drafts", "INBOX", "Junk", "Sent", "Trash")
	if _, err := s.CreateMailbox(ctx, u, "A", ""); err != nil {
		t.Fatal(err)
	}
	subs("Archive", "Drafts", "INBOX", "Junk", "Sent", "Trash") // CREATE does not subscribe
	for _, n := range []string{"A", "A/b", "Ghost/x"} {
		if err := s.SetSubscribed(ctx, u, n, true); err != nil {
			t.Fatalf("subscribe %s: %v", n, err)
		}
	}
	if err := s.SetSubscribed(ctx, u, "A", true); err != nil { // again: no error, no duplicate
		t.Fatal(err)
	}
	if err := s.DeleteMailbox(ctx, u, "A"); err != nil {
		t.Fatal(err)
	}
	subs("A", "A/b", "Archive", "Drafts", "Ghost/x", "INBOX", "Junk", "Sent", "Trash")
	if mb, err := s.CreateMailbox(ctx, u, "A", ""); err != nil || !mb.Subscribed {
		t.Fatalf("recreated A: subscribed=%v %v", mb.Subscribed, err)
	}
	if _, err := s.CreateMailbox(ctx, u, "A/b", ""); err != nil {
		t.Fatal(err)
	}
	if err := s.SetSubscribed(ctx, u, "B", true); err != nil {
		t.Fatal(err)
	}
	if err := s.RenameMailbox(ctx, u, "A", "B"); err != nil {
		t.Fatal(err)
	}
	subs("Archive", "B", "B/b", "Drafts", "Ghost/x", "INBOX", "Junk", "Sent", "Trash")
	wantErr(t, s.SetSubscribed(ctx, u, "A", false), ErrNotFound)
	wantErr(t, s.SetSubscribed(ctx, u, "bad/../name", true), ErrInvalid)
	wantErr(t, s.SetSubscribed(ctx, "nobody@example.org", "INBOX", true), ErrNotFound)

	if err := s.RemoveUser(ctx, u); err != nil {
		t.Fatal(err)
	}
	var n int
	if err := s.r.QueryRowContext(ctx, "SELECT count(*) FROM subscriptions").Scan(&n); err != nil || n != 0 {
		t.Fatalf("%d subscriptions left after the user was deleted (%v)", n, err)
	}
}

// TestSubscriptionsBounded: names need not exist, so a client that subscribes without
// end is stopped at MaxSubscriptions, and unsubscribing makes room again.
func TestSubscriptionsBounded(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := openTest(t)
	mustDomain(t, s, "example.org")
	mustUser(t, s, "bob@example.org", "pw")
	const u = "bob@example.org"
	// Fill directly (one SUBSCRIBE per transaction would make the test slow), then
	// ask through the API as a client would.
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := range MaxSubscriptions {
		if _, err := tx.ExecContext(ctx, "INSERT INTO subscriptions(user, name) VALUES (?, ?)", u, fmt.Sprintf("n%05d", i)); err != nil {
			t.Fatal(err)
		}
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	wantErr(t, s.SetSubscribed(ctx, u, "one-more", true), ErrLimit)
	if err := s.SetSubscribed(ctx, u, "n00000", true); err != nil { // already there: fine
		t.Fatal(err)
	}
	if err := s.SetSubscribed(ctx, u, "n00001", false); err != nil {
		t.Fatal(err)
	}
	if err := s.SetSubscribed(ctx, u, "one-more", true); err != nil {
		t.Fatal(err)
	}
}

// TestMigrationMovesSubscriptions: a database at schema 7 keeps its subscribed flags as
// subscription rows, and the flag column is gone.
func TestMigrationMovesSubscriptions(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "old.db")
	db, _ := openAtVersion(t, path, 7)
	for _, q := range []string{
		"INSERT INTO domains(name, created_at) VALUES ('example.org', 0)",
		"INSERT INTO users(address, domain, password_hash, created_at) VALUES ('c@example.org', 'example.org', 'x', 0)",
		"INSERT INTO mailboxes(user, name, uidvalidity, subscribed, created_at) VALUES ('c@example.org', 'INBOX', 1, 1, 0)",
		"INSERT INTO mailboxes(user, name, uidvalidity, subscribed, created_at) VALUES ('c@example.org', 'Old', 2, 0, 0)",
	} {
		if _, err := db.ExecContext(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	db.Close()
	s := openAt(t, path)
	got, err := s.Subscriptions(ctx, "c@example.org")
	if err != nil || !slices.Equal(got, []string{"INBOX"}) {
		t.Fatalf("subscriptions after migration %q (%v)", got, err)
	}
	mbs, err := s.ListMailboxes(ctx, "c@example.org")
	if err != nil || len(mbs) != 2 || !mbs[0].Subscribed || mbs[1].Subscribed {
		t.Fatalf("mailboxes after migration %+v (%v)", mbs, err)
	}
}
