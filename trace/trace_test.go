package trace

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/postern/postern/store"
)

var _ Store = (*store.Store)(nil)

func openStore(t testing.TB) *store.Store {
	t.Helper()
	st, err := store.Open(context.Background(), filepath.Join(t.TempDir(), "postern.db"), store.Options{
		Argon2: store.Argon2Params{MemoryKiB: 64, Time: 1, Threads: 1}, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

func TestRecordFindAndTell(t *testing.T) {
	t.Parallel()
	st := openStore(t)
	rec, err := NewRecorder(Options{Store: st, MaxAge: 21 * 24 * time.Hour, MaxBytes: 1 << 20})
	if err != nil {
		t.Fatal(err)
	}
	var logged bytes.Buffer
	log := slog.New(NewHandler(slog.NewTextHandler(&logged, &slog.HandlerOptions{Level: slog.LevelWarn}), rec))
	smtpLog := log.With("service", "smtp", "sid", "S1")
	smtpLog.Info("connect", "client", "192.0.2.7")
	smtpLog.Info("helo", "helo", "mx.example.net", "tls", "TLS1.3")
	smtpLog.Info("message", "id", "S1.1", "from", "bob@example.net", "to", "alice@example.org,carol@example.org", "message_id", "<M1@example.net>")
	smtpLog.Info("queued", "id", "S1.1", "queue_id", "Q1", "to", "carol@example.org")
	log.Warn("delivery", "id", "Q1", "to", "carol@example.org", "status", "deferred", "code", 535, "reason", "auth failed")
	log.Info("dsn sent", "id", "Q1", "dsn_queue_id", "Q2")
	log.Info("unrelated", "id", "Q9", "to", "dave@example.org")
	log.Info("no link at all")
	rec.Close()
	if strings.Contains(logged.String(), "helo") || !strings.Contains(logged.String(), "delivery") {
		t.Errorf("the log's own level was not kept:\n%s", logged.String())
	}
	ctx := context.Background()
	for _, q := range []Query{{MessageID: "<m1@example.net>"}, {QueueID: "Q1"}, {Address: "Carol@example.org"}, {Address: "alice@example.org"}} {
		stories, err := Lookup(ctx, st, q)
		if err != nil || len(stories) != 1 || len(stories[0].Events) != 6 {
			t.Fatalf("%+v: %v, %d stories %+v", q, err, len(stories), stories)
		}
		var b strings.Builder
		stories[0].Write(&b)
		for _, want := range []string{"client=192.0.2.7", "helo=mx.example.net", "message_id=<M1@example.net>", "code=535", `reason="auth failed"`, "dsn sent"} {
			if !strings.Contains(b.String(), want) {
				t.Errorf("%+v: story lacks %q:\n%s", q, want, b.String())
			}
		}
	}
	if s, err := Lookup(ctx, st, Query{MessageID: "other@x"}); err != nil || len(s) != 0 {
		t.Errorf("unknown Message-ID found %+v (%v)", s, err)
	}
	if s, err := Lookup(ctx, st, Query{}); err != nil || len(s) != 0 {
		t.Errorf("an empty query found %d stories (%v)", len(s), err)
	}
	if s, _ := Lookup(ctx, st, Query{Since: time.Now().Add(-time.Hour)}); len(s) != 2 {
		t.Errorf("the last hour has %d stories, want 2 (S1's and Q9's)", len(s))
	}
}

// TestPruneByAgeAndSize: events older than MaxAge go at start; when the events add up to
// more than MaxBytes, the oldest go until they fit, and the newest stay findable.
func TestPruneByAgeAndSize(t *testing.T) {
	t.Parallel()
	st := openStore(t)
	ctx := context.Background()
	now := time.Date(2026, 6, 30, 12, 0, 0, 0, time.UTC)
	old := chunk([]Event{{Time: now.Add(-40 * 24 * time.Hour), What: "message", Attrs: map[string]string{"sid": "OLD", "id": "OLD.1", "message_id": "old@x"}}})
	if err := st.AppendTrace(ctx, old); err != nil {
		t.Fatal(err)
	}
	const maxBytes = 64 << 10
	rec, err := NewRecorder(Options{Store: st, MaxAge: 21 * 24 * time.Hour, MaxBytes: maxBytes, Batch: 50, Buffer: 100000, Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 2000 { // about 200 KiB of events, three times the bound
		rec.Record(Event{Time: now.Add(time.Duration(i) * time.Millisecond), What: "delivered", Attrs: map[string]string{
			"sid": fmt.Sprintf("S%d", i), "id": fmt.Sprintf("S%d.1", i), "to": "alice@example.org", "message_id": fmt.Sprintf("m%d@x", i)}})
	}
	rec.Close()
	if rec.Dropped() != 0 {
		t.Fatalf("%d dropped", rec.Dropped())
	}
	size, err := st.TraceSize(ctx)
	if err != nil || size > maxBytes || size < maxBytes/2 {
		t.Errorf("the events add up to %d bytes (%v), want at most %d and not far below", size, err, maxBytes)
	}
	for id, want := range map[string]int{"old@x": 0, "m0@x": 0, "m1999@x": 1} {
		if s, err := Lookup(ctx, st, Query{MessageID: id}); err != nil || len(s) != want {
			t.Errorf("%s: %d stories (%v), want %d", id, len(s), err, want)
		}
	}
}

// TestImportDayFiles: the day files an older version wrote are imported into the store
// at start, then removed; a file whose import was cut short (its first event is in, the
// file is still there) is imported once, not twice.
func TestImportDayFiles(t *testing.T) {
	t.Parallel()
	st := openStore(t)
	dir := filepath.Join(t.TempDir(), "trace")
	os.MkdirAll(dir, 0o750)
	line := `{"t":"2026-12-06T10:00:00Z","what":"message","attrs":{"sid":"S7","id":"S7.1","message_id":"day@x","from":"a@example.org"}}` + "\n" +
		`{"t":"2026-12-06T10:00:01Z","what":"delivered","attrs":{"sid":"S7","id":"S7.1","mailbox":"b@example.test/INBOX","uid":"3"}}` + "\n{torn"
	if err := os.WriteFile(filepath.Join(dir, "2026-12-06.jsonl"), []byte(line), 0o640); err != nil {
		t.Fatal(err)
	}
	first := parseChunk([]byte(line))[:1]
	if err := st.AppendTrace(context.Background(), chunk(first, "f:2026-12-06.jsonl")); err != nil {
		t.Fatal(err)
	}
	rec, err := NewRecorder(Options{Store: st, ImportDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	rec.Close()
	s, err := Lookup(context.Background(), st, Query{Address: "b@example.test"})
	if err != nil || len(s) != 1 || len(s[0].Events) != 2 || s[0].Events[0].Attrs["message_id"] != "day@x" {
		t.Fatalf("imported story %+v (%v)", s, err)
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Errorf("the day files' directory is still there (%v)", err)
	}
}

func TestRecordNeverBlocks(t *testing.T) {
	t.Parallel()
	var logged bytes.Buffer
	rec, err := NewRecorder(Options{Store: openStore(t), Buffer: 1, MaxAge: time.Hour, MaxBytes: 1 << 20,
		Log: slog.New(slog.NewTextHandler(&logged, nil))})
	if err != nil {
		t.Fatal(err)
	}
	h := NewHandler(slog.DiscardHandler, rec)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := range 10000 {
			r := slog.NewRecord(time.Now(), slog.LevelInfo, "delivered", 0)
			r.AddAttrs(slog.Int("sid", i))
			h.Handle(context.Background(), r)
		}
	}()
	select {
	case <-done:
	case <-time.After(20 * time.Second):
		t.Fatal("recording blocked")
	}
	rec.Close()
	// The drops are told: counted, and said in the log with the total.
	if rec.Dropped() == 0 {
		t.Fatal("a one-event buffer took 10,000 events without a drop")
	}
	if want := fmt.Sprintf("dropped_total=%d", rec.Dropped()); !strings.Contains(logged.String(), want) {
		t.Errorf("the log does not say %s:\n%s", want, logged.String())
	}
	if n := rec.StoredBytes(); n <= 0 || n > 1<<20 {
		t.Errorf("StoredBytes = %d, want within (0, 1 MiB]", n)
	}
}

// TestRecentSessions: the newest sessions first, each with its HELO, at most the limit,
// none before since.
func TestRecentSessions(t *testing.T) {
	t.Parallel()
	st := openStore(t)
	ctx := context.Background()
	at := func(day, sec int) time.Time { return time.Date(2026, 12, day, 10, 0, sec, 0, time.UTC) }
	conn := func(t time.Time, sid, client, trusted string) Event {
		return Event{Time: t, What: "connect", Attrs: map[string]string{"sid": sid, "client": client, "role": "mx", "trusted": trusted}}
	}
	helo := func(t time.Time, sid, name string) Event {
		return Event{Time: t, What: "helo", Attrs: map[string]string{"sid": sid, "helo": name}}
	}
	for _, c := range [][]Event{
		{conn(at(1, 0), "A", "192.0.2.1", "false"), helo(at(1, 1), "A", "old.example")},
		{conn(at(6, 0), "B", "127.0.0.1", "true"), helo(at(6, 1), "B", "mx.b.example")},
		{conn(at(7, 0), "C", "::ffff:127.0.0.1", "true"), conn(at(7, 1), "D", "192.0.2.9", "false")},
		{helo(at(7, 2), "C", "mx.c.example")},
	} {
		if err := st.AppendTrace(ctx, chunk(c)); err != nil {
			t.Fatal(err)
		}
	}
	ss, err := RecentSessions(ctx, st, at(5, 0), 10)
	if err != nil || len(ss) != 3 {
		t.Fatalf("%d sessions (%v): %+v", len(ss), err, ss)
	}
	byHELO := map[string]Session{}
	for _, s := range ss {
		byHELO[s.HELO] = s
	}
	if c := byHELO["mx.c.example"]; c.Client.String() != "127.0.0.1" || !c.Trusted || byHELO[""].Client.String() != "192.0.2.9" || byHELO["mx.b.example"].Role != "mx" {
		t.Errorf("sessions %+v", ss)
	}
	if ss, _ := RecentSessions(ctx, st, time.Time{}, 2); len(ss) != 2 || ss[0].HELO != "mx.c.example" && ss[1].HELO != "mx.c.example" {
		t.Errorf("limit 2: %+v", ss)
	}
}
