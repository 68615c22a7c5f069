package store

import (
	"bytes"
	"context"
	"path/filepath"
	"testing"
	"time"
)

func cacheFixture(t *testing.T) (*Store, int64) {
	t.Helper()
	s := openTest(t)
	mustDomain(t, s, "example.org")
	mustUser(t, s, "alice@example.org", "pw")
	ctx := context.Background()
	var msgs []NewMessage
	for _, fn := range []string{"a", "b", "c"} {
		msgs = append(msgs, NewMessage{User: "alice@example.org", Mailbox: "INBOX", Filename: fn, Size: 10, InternalDate: time.Unix(1e9, 0)})
	}
	added, err := s.AddMessages(ctx, msgs)
	if err != nil {
		t.Fatal(err)
	}
	return s, added[0].MailboxID
}

func cacheOf(t *testing.T, s *Store, mb int64) map[string]CachedMessage {
	t.Helper()
	rows, err := s.ListMessagesRangeCached(context.Background(), mb, 1, maxUID)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]CachedMessage{}
	for _, r := range rows {
		out[r.Filename] = r
	}
	return out
}

func TestMessageCachePutMergeAndDrop(t *testing.T) {
	t.Parallel()
	s, mb := cacheFixture(t)
	ctx := context.Background()
	if c := cacheOf(t, s, mb); len(c) != 3 || c["a"].Envelope != nil || c["a"].Structure != nil {
		t.Fatalf("fresh rows have cache: %+v", c)
	}
	if err := s.PutMessageCache(ctx, mb, []CacheEntry{{Filename: "a", Envelope: []byte("env-a")}, {Filename: "gone", Envelope: []byte("x")}}); err != nil {
		t.Fatal(err)
	}
	// A later structure-only put keeps the envelope.
	if err := s.PutMessageCache(ctx, mb, []CacheEntry{{Filename: "a", Structure: []byte("bs-a")}, {Filename: "b", Envelope: []byte("env-b")}}); err != nil {
		t.Fatal(err)
	}
	c := cacheOf(t, s, mb)
	if string(c["a"].Envelope) != "env-a" || string(c["a"].Structure) != "bs-a" {
		t.Fatalf("a = %q / %q", c["a"].Envelope, c["a"].Structure)
	}
	if string(c["b"].Envelope) != "env-b" || c["b"].Structure != nil || c["c"].Envelope != nil {
		t.Fatalf("b = %q / %q, c = %q", c["b"].Envelope, c["b"].Structure, c["c"].Envelope)
	}
	var orphans int
	if err := s.r.QueryRowContext(ctx, "SELECT count(*) FROM message_cache WHERE filename = 'gone'").Scan(&orphans); err != nil || orphans != 0 {
		t.Fatalf("orphan entries: %d (%v)", orphans, err)
	}

	// Reindex: "a" changes size (rewritten by another program), "b" disappears.
	files := []IndexedFile{
		{Filename: "a", Size: 11, InternalDate: time.Unix(1e9, 0)},
		{Filename: "c", Size: 10, InternalDate: time.Unix(1e9, 0)},
	}
	if _, err := s.ReplaceMailboxIndex(ctx, "alice@example.org", "INBOX", files); err != nil {
		t.Fatal(err)
	}
	var n int
	if err := s.r.QueryRowContext(ctx, "SELECT count(*) FROM message_cache").Scan(&n); err != nil || n != 0 {
		t.Fatalf("cache rows after resize and removal: %d (%v)", n, err)
	}
}

func TestMessageCacheCopyAndMailboxDelete(t *testing.T) {
	t.Parallel()
	s, mb := cacheFixture(t)
	ctx := context.Background()
	if err := s.PutMessageCache(ctx, mb, []CacheEntry{{Filename: "a", Envelope: []byte("E"), Structure: []byte("S")}}); err != nil {
		t.Fatal(err)
	}
	added, err := s.AddMessages(ctx, []NewMessage{{User: "alice@example.org", Mailbox: "Archive", Filename: "a2", Size: 10, InternalDate: time.Unix(1e9, 0)}})
	if err != nil {
		t.Fatal(err)
	}
	arch := added[0].MailboxID
	if err := s.CopyMessageCache(ctx, mb, arch, map[string]string{"a": "a2", "b": "nope"}); err != nil {
		t.Fatal(err)
	}
	c := cacheOf(t, s, arch)
	if !bytes.Equal(c["a2"].Envelope, []byte("E")) || !bytes.Equal(c["a2"].Structure, []byte("S")) {
		t.Fatalf("copied entry = %+v", c["a2"])
	}
	if err := s.DeleteMailbox(ctx, "alice@example.org", "Archive"); err != nil {
		t.Fatal(err)
	}
	var n int
	if err := s.r.QueryRowContext(ctx, "SELECT count(*) FROM message_cache WHERE mailbox_id = ?", arch).Scan(&n); err != nil || n != 0 {
		t.Fatalf("entries of a deleted mailbox: %d (%v)", n, err)
	}
}

// TestMigrationFromVersion2 opens a database left at schema 2 (before the cache) and
// checks that Open brings it to the newest version with the cache table usable.
func TestMigrationFromVersion2(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "old.db")
	db, known := openAtVersion(t, path, 2)
	db.Close()
	s := openAt(t, path)
	v, err := userVersion(ctx, s.w)
	if err != nil || v != known {
		t.Fatalf("version %d (%v), want %d", v, err, known)
	}
	if _, err := s.ListMessagesRangeCached(ctx, 1, 1, 10); err != nil {
		t.Fatalf("cache table missing after migration: %v", err)
	}
}
