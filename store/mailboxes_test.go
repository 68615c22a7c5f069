package store

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
)

func TestNormalizeMailboxName(t *testing.T) {
	t.Parallel()
	good := map[string]string{"INBOX": "INBOX", "inbox": "INBOX", "Inbox/Sub": "INBOX/Sub", "Archive/2024": "Archive/2024",
		"Entwürfe": "Entwürfe", "inboxes": "inboxes", "a b": "a b"}
	for in, want := range good {
		if got, err := NormalizeMailboxName(in); err != nil || got != want {
			t.Errorf("NormalizeMailboxName(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, in := range []string{"", "/", "a/", "/a", "a//b", "..", "a/../b", ".", "a\x00", "a\nb", "a*", "a%", `a\b`, "\xff"} {
		if _, err := NormalizeMailboxName(in); !errors.Is(err, ErrInvalid) {
			t.Errorf("NormalizeMailboxName(%q) err = %v, want ErrInvalid", in, err)
		}
	}
}

func TestMailboxes(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := openTest(t)
	mustDomain(t, s, "example.org")
	mustUser(t, s, "alice@example.org", "pw")

	for range 2 { // idempotent
		if err := s.CreateDefaultMailboxes(ctx, "Alice@example.org"); err != nil {
			t.Fatal(err)
		}
	}
	wantErr(t, s.CreateDefaultMailboxes(ctx, "nobody@example.org"), ErrNotFound)
	list, err := s.ListMailboxes(ctx, "alice@example.org")
	if err != nil || len(list) != 6 {
		t.Fatalf("ListMailboxes = %+v, %v", list, err)
	}
	wantOrder := []string{"INBOX", "Archive", "Drafts", "Junk", "Sent", "Trash"}
	seen := map[uint32]bool{}
	for i, m := range list {
		if m.Name != wantOrder[i] {
			t.Fatalf("mailbox %d is %q, want %q", i, m.Name, wantOrder[i])
		}
		if m.UIDNext != 1 || m.UIDValidity == 0 || seen[m.UIDValidity] || !m.Subscribed || m.User != "alice@example.org" {
			t.Fatalf("bad new mailbox %+v", m)
		}
		seen[m.UIDValidity] = true
	}
	if list[2].SpecialUse != SpecialDrafts || list[0].SpecialUse != "" {
		t.Fatalf("special use: %+v", list)
	}

	m, err := s.EnsureMailbox(ctx, "alice@example.org", "Drafts", SpecialTrash)
	if err != nil || m.SpecialUse != SpecialDrafts || m.ID != list[2].ID {
		t.Fatalf("EnsureMailbox(existing) = %+v, %v; must not change it", m, err)
	}
	_, err = s.EnsureMailbox(ctx, "alice@example.org", "X", `\Bogus`)
	wantErr(t, err, ErrInvalid)
	_, err = s.CreateMailbox(ctx, "alice@example.org", "inbox", "")
	wantErr(t, err, ErrExists)
	proj, err := s.CreateMailbox(ctx, "alice@example.org", "Projects/Postern", "")
	if err != nil || proj.Name != "Projects/Postern" {
		t.Fatalf("CreateMailbox = %+v, %v", proj, err)
	}
	_, err = s.GetMailbox(ctx, "alice@example.org", "Nope")
	wantErr(t, err, ErrNotFound)

	// Deleting and recreating gives a new UIDVALIDITY even within the same second.
	if err := s.DeleteMailbox(ctx, "alice@example.org", "Projects/Postern"); err != nil {
		t.Fatal(err)
	}
	wantErr(t, s.DeleteMailbox(ctx, "alice@example.org", "Projects/Postern"), ErrNotFound)
	wantErr(t, s.DeleteMailbox(ctx, "alice@example.org", "INBOX"), ErrInvalid)
	again, err := s.CreateMailbox(ctx, "alice@example.org", "Projects/Postern", "")
	if err != nil || again.UIDValidity == proj.UIDValidity {
		t.Fatalf("recreated mailbox UIDVALIDITY %d, old %d, %v", again.UIDValidity, proj.UIDValidity, err)
	}

	if err := s.SetSubscribed(ctx, "alice@example.org", "Junk", false); err != nil {
		t.Fatal(err)
	}
	if j, _ := s.GetMailbox(ctx, "alice@example.org", "Junk"); j.Subscribed {
		t.Fatal("still subscribed")
	}
	wantErr(t, s.SetSubscribed(ctx, "alice@example.org", "Nope", false), ErrNotFound)

	if _, err := s.CreateMailbox(ctx, "alice@example.org", "Projects", ""); err != nil {
		t.Fatal(err)
	}
	if err := s.RenameMailbox(ctx, "alice@example.org", "Projects", "Work"); err != nil {
		t.Fatal(err)
	}
	w, err := s.GetMailbox(ctx, "alice@example.org", "Work/Postern")
	if err != nil || w.ID != again.ID || w.UIDValidity != again.UIDValidity {
		t.Fatalf("child after rename = %+v, %v", w, err)
	}
	wantErr(t, s.RenameMailbox(ctx, "alice@example.org", "Work", "Junk"), ErrExists)
	wantErr(t, s.RenameMailbox(ctx, "alice@example.org", "Gone", "Other"), ErrNotFound)
	wantErr(t, s.RenameMailbox(ctx, "alice@example.org", "Work", "Work/Deeper"), ErrInvalid)
	wantErr(t, s.RenameMailbox(ctx, "alice@example.org", "INBOX", "Old"), ErrInvalid)

	// Another user's mailboxes are separate; removing a user removes its index.
	mustUser(t, s, "bob@example.org", "pw")
	if l, _ := s.ListMailboxes(ctx, "bob@example.org"); len(l) != 0 {
		t.Fatalf("bob sees %d mailboxes", len(l))
	}
	if err := s.RemoveUser(ctx, "alice@example.org"); err != nil {
		t.Fatal(err)
	}
	var n int
	if err := s.r.QueryRowContext(ctx, "SELECT count(*) FROM mailboxes").Scan(&n); err != nil || n != 0 {
		t.Fatalf("%d mailboxes left after RemoveUser, %v", n, err)
	}
}

// FuzzNormalizeMailboxName: names come from IMAP clients. A normalised name must be
// idempotent, never contain a "." or ".." component or an empty one, and keep INBOX
// canonical.
func FuzzNormalizeMailboxName(f *testing.F) {
	for _, s := range []string{"INBOX", "inbox/a", "Archive/2024", "../x", "a//b", "Entwürfe", "a\x00"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		out, err := NormalizeMailboxName(in)
		if err != nil {
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("error does not wrap ErrInvalid: %v", err)
			}
			return
		}
		for _, c := range strings.Split(out, "/") {
			if c == "" || c == "." || c == ".." {
				t.Fatalf("NormalizeMailboxName(%q) = %q has component %q", in, out, c)
			}
		}
		if again, err := NormalizeMailboxName(out); err != nil || again != out {
			t.Fatalf("not idempotent: %q -> %q -> %q, %v", in, out, again, err)
		}
		if strings.EqualFold(out, InboxName) && out != InboxName {
			t.Fatalf("INBOX not canonical: %q", out)
		}
	})
}

// FuzzNormalizeFlags: flags come from IMAP STORE/APPEND. Accepted flags must survive the
// space-separated storage unchanged.
func FuzzNormalizeFlags(f *testing.F) {
	f.Add(`\Seen`, "$Junk")
	f.Add("a b", `\`)
	f.Add("(", "]")
	f.Fuzz(func(t *testing.T, a, b string) {
		out, err := normalizeFlags([]string{a, b})
		if err != nil {
			return
		}
		if got := splitFlags(strings.Join(out, " ")); !slices.Equal(got, out) {
			t.Fatalf("flags %q do not round-trip: %q", out, got)
		}
	})
}
