package store

import (
	"context"
	"fmt"
	"testing"
	"time"
)

type counters struct{ uidnext, modseq, uidCeiling, modCeiling int64 }

func mailboxCounters(t *testing.T, s *Store, user, name string) counters {
	t.Helper()
	var c counters
	err := s.w.QueryRowContext(context.Background(), `SELECT uidnext, highest_modseq, uid_ceiling, modseq_ceiling
		FROM mailboxes WHERE user = ? AND name = ?`, user, name).Scan(&c.uidnext, &c.modseq, &c.uidCeiling, &c.modCeiling)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// aliceStore is a store with example.test and alice@example.test.
func aliceStore(t *testing.T) *Store {
	t.Helper()
	s := openTest(t)
	mustDomain(t, s, "example.test")
	mustUser(t, s, "alice@example.test", "a-long-password-1")
	return s
}

func deliverOne(t *testing.T, s *Store, user, mailbox, file string) AddedMessage {
	t.Helper()
	added, err := s.IndexDeliveries(context.Background(), []NewMessage{{User: user, Mailbox: mailbox, Filename: file, Size: 100, InternalDate: time.Now()}})
	if err != nil {
		t.Fatalf("IndexDeliveries(%s): %v", file, err)
	}
	return added[0]
}

// Deliveries are indexed with commits that mostly do not wait for the disk, never hand
// out a UID or MODSEQ above the durable ceilings, and move the ceilings with a synced
// commit once per uidReserve deliveries.
func TestIndexDeliveriesStaysBelowCeilings(t *testing.T) {
	t.Parallel()
	s := aliceStore(t)
	const alice = "alice@example.test"
	const n = 1000
	for i := range n {
		a := deliverOne(t, s, alice, "INBOX", fmt.Sprintf("m%04d", i))
		if a.UID != uint32(i+1) {
			t.Fatalf("delivery %d got UID %d", i, a.UID)
		}
		c := mailboxCounters(t, s, alice, "INBOX")
		if c.uidnext > c.uidCeiling || c.modseq > c.modCeiling {
			t.Fatalf("after delivery %d counters passed the ceilings: %+v", i, c)
		}
	}
	relaxed := s.relaxedCommits.Load()
	synced := n - relaxed
	if want := int64(n/uidReserve + 2); synced > want || relaxed == 0 {
		t.Fatalf("%d relaxed and %d synced commits; want at most %d synced", relaxed, synced, want)
	}
	// A mailbox that does not exist yet is created by a synced commit.
	if a := deliverOne(t, s, alice, "Lists/new", "first"); a.UID != 1 {
		t.Fatalf("first message of a new mailbox: %+v", a)
	}
	if c := mailboxCounters(t, s, alice, "Lists/new"); c.uidCeiling < c.uidnext || c.modCeiling < c.modseq {
		t.Fatalf("new mailbox counters: %+v", c)
	}
}

// A power loss undoes the last relaxed commits: their rows are gone and UIDNEXT and
// HIGHESTMODSEQ read lower than values already shown. RecoverCounters must move both
// past everything handed out, so the reconcile and later deliveries never reuse a UID.
func TestRecoverCountersAfterLostCommits(t *testing.T) {
	t.Parallel()
	s := aliceStore(t)
	const alice = "alice@example.test"
	ctx := context.Background()
	var last AddedMessage
	for i := range 300 {
		last = deliverOne(t, s, alice, "INBOX", fmt.Sprintf("m%04d", i))
	}
	before := mailboxCounters(t, s, alice, "INBOX")
	// Relaxed commits never move the ceilings, so the state a power loss can leave is
	// the rows and counters of some earlier commit with today's ceilings. Lose the last 40.
	lostFrom := int64(last.UID) - 39
	if _, err := s.w.ExecContext(ctx, "DELETE FROM messages WHERE mailbox_id = ? AND uid >= ?", last.MailboxID, lostFrom); err != nil {
		t.Fatal(err)
	}
	if _, err := s.w.ExecContext(ctx, "UPDATE mailboxes SET uidnext = ?, highest_modseq = highest_modseq - 40 WHERE id = ?", lostFrom, last.MailboxID); err != nil {
		t.Fatal(err)
	}
	moved, err := s.RecoverCounters(ctx)
	if err != nil || moved != 1 {
		t.Fatalf("RecoverCounters: %d, %v", moved, err)
	}
	after := mailboxCounters(t, s, alice, "INBOX")
	if after.uidnext <= int64(last.UID) || after.modseq < int64(last.ModSeq) {
		t.Fatalf("after recovery %+v; handed out UID %d MODSEQ %d before (counters then %+v)", after, last.UID, last.ModSeq, before)
	}
	// Nothing to do the second time.
	if moved, err := s.RecoverCounters(ctx); err != nil || moved != 0 {
		t.Fatalf("second RecoverCounters: %d, %v", moved, err)
	}
	next := deliverOne(t, s, alice, "INBOX", "after-the-crash")
	if next.UID <= last.UID || next.ModSeq <= last.ModSeq {
		t.Fatalf("after recovery got UID %d MODSEQ %d; %d and %d were handed out before", next.UID, next.ModSeq, last.UID, last.ModSeq)
	}
}

// Every transaction other than a delivery's index commit is synced, whatever ran before
// it on the writer connection: an admin change, an IMAP flag batch.
func TestOnlyDeliveriesAreRelaxed(t *testing.T) {
	t.Parallel()
	s := aliceStore(t)
	ctx := context.Background()
	level := func() int {
		t.Helper()
		var l int
		if err := s.w.QueryRowContext(ctx, "PRAGMA synchronous").Scan(&l); err != nil {
			t.Fatal(err)
		}
		return l
	}
	const normal, full = 1, 2
	deliver := func(i int) AddedMessage {
		t.Helper()
		a := deliverOne(t, s, "alice@example.test", "INBOX", fmt.Sprintf("m%d", i))
		if i > 0 && level() != normal { // the first one moves the ceilings: synced
			t.Fatalf("after delivery %d the writer is at synchronous %d, want NORMAL", i, level())
		}
		return a
	}
	deliver(0)
	deliver(1)
	if s.relaxedCommits.Load() == 0 {
		t.Fatal("no relaxed commit was made")
	}
	if _, err := s.AddDomain(ctx, "example.org"); err != nil {
		t.Fatal(err)
	}
	if level() != full {
		t.Fatalf("an admin change ran at synchronous %d, want FULL", level())
	}
	a := deliver(2)
	b, err := s.BeginFlagBatch(ctx, a.MailboxID)
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Add(ctx, []FlagUpdate{{UID: a.UID, Flags: []string{`\Seen`}}}); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	if level() != full {
		t.Fatalf("a flag batch ran at synchronous %d, want FULL", level())
	}
	deliver(3)
	if err := s.RemoveUser(ctx, "alice@example.test"); err != nil {
		t.Fatal(err)
	}
	if level() != full {
		t.Fatalf("removing a user ran at synchronous %d, want FULL", level())
	}
}
