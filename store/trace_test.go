package store

import (
	"context"
	"fmt"
	"testing"
	"time"
)

// TestTracePrune: pruning by age deletes the old chunks with their keys; pruning by
// size deletes the oldest chunks until enough is freed; what is left is still found by
// its keys and its time.
func TestTracePrune(t *testing.T) {
	t.Parallel()
	s := openTest(t)
	ctx := context.Background()
	now := time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC)
	for i := range 10 {
		at := now.Add(time.Duration(i-5) * 24 * time.Hour)
		c := TraceChunk{FirstAt: at, LastAt: at.Add(time.Minute), Events: []byte(fmt.Sprintf("{\"n\":%d}\n", i)), Size: 100,
			Keys: []string{fmt.Sprintf("s:S%d", i), fmt.Sprintf("i:m%d@x", i), "a:all@example.test"}}
		if err := s.AppendTrace(ctx, c); err != nil {
			t.Fatal(err)
		}
	}
	freed, err := s.PruneTrace(ctx, now.Add(-3*24*time.Hour), 0) // chunks 0 and 1 are older
	if err != nil || freed != 200 {
		t.Fatalf("pruned by age: %d (%v), want 200", freed, err)
	}
	if freed, err = s.PruneTrace(ctx, time.Time{}, 250); err != nil || freed != 300 {
		t.Fatalf("pruned by size: %d (%v), want 300 (chunks 2..4)", freed, err)
	}
	if n, err := s.TraceSize(ctx); err != nil || n != 500 {
		t.Fatalf("size left %d (%v), want 500", n, err)
	}
	var keys int
	if err := s.r.QueryRowContext(ctx, "SELECT count(*) FROM trace_keys").Scan(&keys); err != nil || keys != 15 {
		t.Errorf("%d keys left (%v), want 15", keys, err)
	}
	seqs, err := s.TraceChunksWith(ctx, []string{"i:m5@x", "s:S7", "s:S1"}, 10)
	if err != nil || len(seqs) != 2 {
		t.Fatalf("chunks with keys: %v (%v)", seqs, err)
	}
	if b, err := s.TraceEvents(ctx, seqs[0]); err != nil || string(b) != "{\"n\":5}\n" {
		t.Errorf("events %q (%v)", b, err)
	}
	if all, _ := s.TraceChunksWith(ctx, []string{"a:all@example.test"}, 3); len(all) != 3 || all[0] != seqs[0] {
		t.Errorf("limit/order: %v", all)
	}
	if w, _ := s.TraceChunksBetween(ctx, now.Add(time.Hour), now.Add(2*24*time.Hour+time.Hour), 10); len(w) != 2 {
		t.Errorf("window: %v, want chunks 6 and 7", w)
	}
	if r, _ := s.RecentTraceChunks(ctx, now, 10); len(r) != 5 || r[0] < r[1] {
		t.Errorf("recent: %v, want 5..9 newest first", r)
	}
	if b, err := s.TraceEvents(ctx, 1); b != nil || err != nil {
		t.Errorf("a pruned chunk: %q %v", b, err)
	}
}
