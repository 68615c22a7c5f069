package store

import (
	"context"
	"database/sql"
	"fmt"
	"reflect"
	"testing"
	"time"
)

func TestAddMessages(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := openTest(t)
	mustDomain(t, s, "example.org")
	mustUser(t, s, "alice@example.org", "pw")
	mustUser(t, s, "bob@example.org", "pw")
	date := time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)

	// One delivery to two users, one of them twice (two folders), mailboxes auto-created.
	added, err := s.AddMessages(ctx, []NewMessage{
		{User: "alice@example.org", Mailbox: "INBOX", Filename: "1.a", Size: 100, InternalDate: date, Flags: []string{`\Seen`}},
		{User: "Bob@example.org", Mailbox: "inbox", Filename: "1.b", Size: 100, InternalDate: date},
		{User: "alice@example.org", Mailbox: "Lists", Filename: "1.c", Size: 100, InternalDate: date, Flags: []string{"$Label1", "$label1"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	if added[0].UID != 1 || added[1].UID != 1 || added[2].UID != 1 || added[0].MailboxID == added[1].MailboxID || added[0].MailboxID == added[2].MailboxID {
		t.Fatalf("added = %+v", added)
	}
	added2, err := s.AddMessages(ctx, []NewMessage{
		{User: "alice@example.org", Mailbox: "INBOX", Filename: "2.a", Size: 50, InternalDate: date},
		{User: "alice@example.org", Mailbox: "INBOX", Filename: "3.a", Size: 25, InternalDate: date},
	})
	if err != nil || added2[0].UID != 2 || added2[1].UID != 3 || added2[1].ModSeq <= added2[0].ModSeq || added2[0].ModSeq <= added[0].ModSeq {
		t.Fatalf("second batch = %+v, %v", added2, err)
	}
	inbox, err := s.GetMailbox(ctx, "alice@example.org", "INBOX")
	if err != nil || inbox.UIDNext != 4 || inbox.HighestModSeq != added2[1].ModSeq || inbox.Messages != 3 || inbox.Unseen != 2 || inbox.Size != 175 {
		t.Fatalf("INBOX = %+v, %v", inbox, err)
	}
	if inbox.UIDValidity != added[0].UIDValidity {
		t.Fatalf("UIDValidity %d vs added %d", inbox.UIDValidity, added[0].UIDValidity)
	}
	msgs, err := s.ListMessages(ctx, inbox.ID, 1)
	if err != nil || len(msgs) != 3 || msgs[0].Filename != "1.a" || !reflect.DeepEqual(msgs[0].Flags, []string{`\Seen`}) ||
		!msgs[0].InternalDate.Equal(date) || msgs[2].UID != 3 || msgs[1].Flags != nil {
		t.Fatalf("ListMessages = %+v, %v", msgs, err)
	}
	lists, _ := s.GetMailbox(ctx, "alice@example.org", "Lists")
	if l, _ := s.ListMessages(ctx, lists.ID, 0); len(l) != 1 || !reflect.DeepEqual(l[0].Flags, []string{"$Label1"}) {
		t.Fatalf("duplicate flags not folded: %+v", l)
	}

	if u, err := s.UserUsage(ctx, "alice@example.org"); err != nil || u != 275 {
		t.Fatalf("UserUsage(alice) = %d, %v; want 275", u, err)
	}
	if u, err := s.UserUsage(ctx, "bob@example.org"); err != nil || u != 100 {
		t.Fatalf("UserUsage(bob) = %d, %v; want 100", u, err)
	}
	_, err = s.UserUsage(ctx, "nobody@example.org")
	wantErr(t, err, ErrNotFound)

	// All or nothing: a duplicate file name fails the batch, bob's message included.
	_, err = s.AddMessages(ctx, []NewMessage{
		{User: "bob@example.org", Mailbox: "INBOX", Filename: "4.b", Size: 1, InternalDate: date},
		{User: "alice@example.org", Mailbox: "INBOX", Filename: "1.a", Size: 1, InternalDate: date},
	})
	wantErr(t, err, ErrExists)
	if b, _ := s.GetMailbox(ctx, "bob@example.org", "INBOX"); b.Messages != 1 || b.UIDNext != 2 {
		t.Fatalf("failed batch left traces: %+v", b)
	}
	_, err = s.AddMessages(ctx, []NewMessage{{User: "nobody@example.org", Mailbox: "INBOX", Filename: "x", InternalDate: date}})
	wantErr(t, err, ErrNotFound)
	for _, bad := range []NewMessage{
		{User: "alice@example.org", Mailbox: "INBOX", Filename: "../x"},
		{User: "alice@example.org", Mailbox: "INBOX", Filename: ""},
		{User: "alice@example.org", Mailbox: "../x", Filename: "x"},
		{User: "alice@example.org", Mailbox: "INBOX", Filename: "x", Flags: []string{"two words"}},
		{User: "alice@example.org", Mailbox: "INBOX", Filename: "x", Flags: []string{`\`}},
		{User: "alice@example.org", Mailbox: "INBOX", Filename: "x", Size: -1},
	} {
		_, err := s.AddMessages(ctx, []NewMessage{bad})
		wantErr(t, err, ErrInvalid)
	}

	// Flags change MODSEQ; expunge never frees a UID.
	ms, err := s.SetMessageFlags(ctx, inbox.ID, 2, []string{`\Seen`, `\Flagged`})
	if err != nil || ms <= inbox.HighestModSeq {
		t.Fatalf("SetMessageFlags = %d, %v", ms, err)
	}
	_, err = s.SetMessageFlags(ctx, inbox.ID, 99, nil)
	wantErr(t, err, ErrNotFound)
	n, err := s.RemoveMessages(ctx, inbox.ID, []uint32{3, 3, 42})
	if err != nil || n != 1 {
		t.Fatalf("RemoveMessages = %d, %v", n, err)
	}
	if u, _ := s.UserUsage(ctx, "alice@example.org"); u != 250 {
		t.Fatalf("usage after expunge = %d, want 250", u)
	}
	next, err := s.AddMessages(ctx, []NewMessage{{User: "alice@example.org", Mailbox: "INBOX", Filename: "5.a", Size: 1, InternalDate: date}})
	if err != nil || next[0].UID != 4 {
		t.Fatalf("UID after expunge = %+v, %v; want 4 (never reused)", next, err)
	}
	after, _ := s.GetMailbox(ctx, "alice@example.org", "INBOX")
	if after.HighestModSeq <= ms {
		t.Fatalf("HIGHESTMODSEQ did not grow: %d <= %d", after.HighestModSeq, ms)
	}

	// Deleting a mailbox releases its bytes.
	if err := s.DeleteMailbox(ctx, "alice@example.org", "Lists"); err != nil {
		t.Fatal(err)
	}
	if u, _ := s.UserUsage(ctx, "alice@example.org"); u != 151 {
		t.Fatalf("usage after DeleteMailbox = %d, want 151", u)
	}
}

func TestReplaceMailboxIndex(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := openTest(t)
	mustDomain(t, s, "example.org")
	mustUser(t, s, "alice@example.org", "pw")
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	file := func(name string, day int, flags ...string) IndexedFile {
		return IndexedFile{Filename: name, Size: 10, InternalDate: t0.AddDate(0, 0, day), Flags: flags}
	}

	// From nothing: a new mailbox, files numbered by date.
	r, err := s.ReplaceMailboxIndex(ctx, "alice@example.org", "INBOX", []IndexedFile{file("c", 3), file("a", 1), file("b", 2)})
	if err != nil || r.Added != 3 || r.Kept != 0 || r.Removed != 0 || r.UIDValidityChanged {
		t.Fatalf("first reindex = %+v, %v", r, err)
	}
	uidOf := func() map[string]uint32 {
		out := map[string]uint32{}
		msgs, err := s.ListMessages(ctx, r.MailboxID, 0)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range msgs {
			out[m.Filename] = m.UID
		}
		return out
	}
	if got := uidOf(); !reflect.DeepEqual(got, map[string]uint32{"a": 1, "b": 2, "c": 3}) {
		t.Fatalf("UIDs = %v", got)
	}
	before, _ := s.GetMailbox(ctx, "alice@example.org", "INBOX")

	// b vanished, c changed flags, d and e are new: a and c keep their UIDs.
	r2, err := s.ReplaceMailboxIndex(ctx, "alice@example.org", "INBOX",
		[]IndexedFile{file("a", 1), file("c", 3, `\Seen`), file("e", 0), file("d", 0)})
	if err != nil || r2.Kept != 2 || r2.Updated != 1 || r2.Added != 2 || r2.Removed != 1 || r2.UIDValidityChanged || r2.UIDValidity != r.UIDValidity {
		t.Fatalf("second reindex = %+v, %v", r2, err)
	}
	if got := uidOf(); !reflect.DeepEqual(got, map[string]uint32{"a": 1, "c": 3, "d": 4, "e": 5}) {
		t.Fatalf("UIDs = %v", got)
	}
	after, _ := s.GetMailbox(ctx, "alice@example.org", "INBOX")
	if after.UIDNext != 6 || after.HighestModSeq <= before.HighestModSeq || after.Messages != 4 {
		t.Fatalf("mailbox after reindex = %+v", after)
	}
	if u, _ := s.UserUsage(ctx, "alice@example.org"); u != 40 {
		t.Fatalf("usage = %d, want 40", u)
	}

	// Same files again: nothing to do, MODSEQ stays.
	r3, err := s.ReplaceMailboxIndex(ctx, "alice@example.org", "INBOX",
		[]IndexedFile{file("a", 1), file("c", 3, `\Seen`), file("e", 0), file("d", 0)})
	if err != nil || r3.Updated != 0 || r3.Added != 0 || r3.Removed != 0 {
		t.Fatalf("idempotent reindex = %+v, %v", r3, err)
	}
	if m, _ := s.GetMailbox(ctx, "alice@example.org", "INBOX"); m.HighestModSeq != after.HighestModSeq {
		t.Fatalf("no-op reindex moved HIGHESTMODSEQ %d -> %d", after.HighestModSeq, m.HighestModSeq)
	}

	_, err = s.ReplaceMailboxIndex(ctx, "alice@example.org", "INBOX", []IndexedFile{file("a", 1), file("a", 2)})
	wantErr(t, err, ErrInvalid)

	// UIDs exhausted: renumber under a new UIDVALIDITY, old order kept.
	if _, err := s.w.ExecContext(ctx, "UPDATE mailboxes SET uidnext = ? WHERE id = ?", maxUID, r.MailboxID); err != nil {
		t.Fatal(err)
	}
	r4, err := s.ReplaceMailboxIndex(ctx, "alice@example.org", "INBOX",
		[]IndexedFile{file("a", 1), file("c", 3, `\Seen`), file("e", 0), file("d", 0), file("f", 9), file("g", 10)})
	if err != nil || !r4.UIDValidityChanged || r4.UIDValidity == r.UIDValidity {
		t.Fatalf("exhausted reindex = %+v, %v", r4, err)
	}
	if got := uidOf(); !reflect.DeepEqual(got, map[string]uint32{"a": 1, "c": 2, "d": 3, "e": 4, "f": 5, "g": 6}) {
		t.Fatalf("renumbered UIDs = %v", got)
	}
	if m, _ := s.GetMailbox(ctx, "alice@example.org", "INBOX"); m.UIDNext != 7 || m.UIDValidity != r4.UIDValidity {
		t.Fatalf("mailbox after renumber = %+v", m)
	}
}

func TestMigrationFromVersion1KeepsAccounts(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	path := t.TempDir() + "/postern.db"
	s := openAt(t, path)
	// Rebuild the file as version 1 by hand: drop what 0002 added.
	w := s.w
	for _, q := range []string{
		"DROP TABLE messages", "DROP TABLE mailboxes",
		"ALTER TABLE users DROP COLUMN used_bytes", "ALTER TABLE users DROP COLUMN last_uidvalidity",
		"PRAGMA user_version = 1",
		"INSERT INTO domains VALUES ('example.org', 1)",
	} {
		if _, err := w.ExecContext(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	s.Close()
	s1, err := Open(ctx, path, testOptions())
	if err != nil {
		t.Fatal(err)
	}
	defer s1.Close()
	if s1.SchemaVersion() < 2 {
		t.Fatalf("not migrated: %d", s1.SchemaVersion())
	}
	mustUser(t, s1, "alice@example.org", "pw")
	if _, err := s1.AddMessages(ctx, []NewMessage{{User: "alice@example.org", Mailbox: "INBOX", Filename: "x", Size: 5}}); err != nil {
		t.Fatalf("AddMessages after migration: %v", err)
	}
	// The copy taken before migrating is at version 1 and holds the domain.
	backup := newestBackupAtMost(MigrationBackupDir(path), 1)
	if backup == "" {
		t.Fatal("no backup was taken before the migration")
	}
	b, err := sql.Open("sqlite", "file:"+backup+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	var v, n int
	if err := b.QueryRow("PRAGMA user_version").Scan(&v); err != nil || v != 1 {
		t.Fatalf("backup at version %d (%v), want 1", v, err)
	}
	if err := b.QueryRow("SELECT count(*) FROM domains WHERE name = 'example.org'").Scan(&n); err != nil || n != 1 {
		t.Fatalf("backup lacks the domain: %d %v", n, err)
	}
	// It is offered only to binaries that can read version 1.
	if got := newestBackupAtMost(MigrationBackupDir(path), 0); got != "" {
		t.Fatalf("a backup at version 1 was offered to a binary knowing version 0: %s", got)
	}
}

// BenchmarkAddMessages measures the delivery path's index write for one recipient: one
// IMMEDIATE transaction and one fsync'd commit per message.
func BenchmarkAddMessages(b *testing.B) {
	ctx := context.Background()
	s := openTest(b)
	mustDomain(b, s, "example.org")
	mustUser(b, s, "alice@example.org", "pw")
	if err := s.CreateDefaultMailboxes(ctx, "alice@example.org"); err != nil {
		b.Fatal(err)
	}
	now := time.Now()
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		i++
		_, err := s.AddMessages(ctx, []NewMessage{{User: "alice@example.org", Mailbox: "INBOX",
			Filename: fmt.Sprintf("%d.M1P2.host", i), Size: 4096, InternalDate: now}})
		if err != nil {
			b.Fatal(err)
		}
	}
}
