package store

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"
)

func TestSetFlagsBatch(t *testing.T) {
	t.Parallel()
	s := openTest(t)
	ctx := context.Background()
	mustDomain(t, s, "example.org")
	mustUser(t, s, "alice@example.org", "pw")
	var recs []NewMessage
	for i := range 1200 {
		recs = append(recs, NewMessage{User: "alice@example.org", Mailbox: "INBOX", Filename: fmt.Sprintf("m%d", i), Size: 10, InternalDate: time.Unix(1700000000, 0)})
	}
	added, err := s.AddMessages(ctx, recs)
	if err != nil {
		t.Fatal(err)
	}
	id := added[0].MailboxID
	if _, err := s.RemoveMessages(ctx, id, []uint32{7}); err != nil {
		t.Fatal(err)
	}
	before, err := s.GetMailboxState(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	var ups []FlagUpdate
	for uid := uint32(1); uid <= 1200; uid++ {
		ups = append(ups, FlagUpdate{UID: uid, Flags: []string{`\Flagged`, "$Work"}})
	}
	res, err := s.SetFlagsBatch(ctx, id, ups)
	if err != nil {
		t.Fatal(err)
	}
	if res.From != before.HighestModSeq || res.To != before.HighestModSeq+1199 || len(res.ModSeqs) != 1199 {
		t.Fatalf("batch = from %d to %d, %d changed; state before %+v", res.From, res.To, len(res.ModSeqs), before)
	}
	if _, ok := res.ModSeqs[7]; ok {
		t.Fatal("an expunged UID was reported changed")
	}
	if res.ModSeqs[1200] != res.To || res.ModSeqs[1] != res.From+1 {
		t.Fatalf("MODSEQs %d..%d", res.ModSeqs[1], res.ModSeqs[1200])
	}
	after, err := s.GetMailboxState(ctx, id)
	if err != nil || after.HighestModSeq != res.To {
		t.Fatalf("HIGHESTMODSEQ %d, %v", after.HighestModSeq, err)
	}
	msgs, err := s.ListMessagesRange(ctx, id, 1200, 1200)
	if err != nil || len(msgs) != 1 || !slices.Equal(msgs[0].Flags, []string{`\Flagged`, "$Work"}) || msgs[0].ModSeq != res.To {
		t.Fatalf("row 1200: %+v %v", msgs, err)
	}
	if _, err := s.SetFlagsBatch(ctx, id, []FlagUpdate{{UID: 1, Flags: []string{"bad flag"}}}); err == nil {
		t.Fatal("a flag with a space was stored")
	}
}

// TestFlagBatchRollback: an abandoned batch changes nothing, and a committed one fed
// in parts numbers its MODSEQs across the parts.
func TestFlagBatchRollback(t *testing.T) {
	t.Parallel()
	s := openTest(t)
	ctx := context.Background()
	mustDomain(t, s, "example.org")
	mustUser(t, s, "alice@example.org", "pw")
	added, err := s.AddMessages(ctx, []NewMessage{
		{User: "alice@example.org", Mailbox: "INBOX", Filename: "a", Size: 1, InternalDate: time.Unix(1700000000, 0)},
		{User: "alice@example.org", Mailbox: "INBOX", Filename: "b", Size: 1, InternalDate: time.Unix(1700000000, 0)},
	})
	if err != nil {
		t.Fatal(err)
	}
	id := added[0].MailboxID
	before, _ := s.GetMailboxState(ctx, id)
	b, err := s.BeginFlagBatch(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Add(ctx, []FlagUpdate{{UID: 1, Flags: []string{`\Seen`}}}); err != nil {
		t.Fatal(err)
	}
	b.Rollback()
	b.Rollback() // twice is fine
	msgs, err := s.ListMessagesRange(ctx, id, 1, 2)
	if err != nil || len(msgs[0].Flags) != 0 {
		t.Fatalf("rolled-back flags stored: %+v %v", msgs, err)
	}
	if st, _ := s.GetMailboxState(ctx, id); st != before {
		t.Fatalf("state moved: %+v -> %+v", before, st)
	}
	b, err = s.BeginFlagBatch(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Rollback()
	for uid := uint32(1); uid <= 2; uid++ {
		if err := b.Add(ctx, []FlagUpdate{{UID: uid, Flags: []string{`\Seen`}}}); err != nil {
			t.Fatal(err)
		}
	}
	res, err := b.Commit(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if res.From != before.HighestModSeq || res.To != res.From+2 || res.ModSeqs[1] != res.From+1 || res.ModSeqs[2] != res.To {
		t.Fatalf("batch = %+v (state before %+v)", res, before)
	}
	if _, err := s.BeginFlagBatch(ctx, 999); !errors.Is(err, ErrNotFound) {
		t.Fatalf("batch on a missing mailbox: %v", err)
	}
}
