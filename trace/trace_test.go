package trace

import (
	"bytes"
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestRecordFindAndTell(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	rec, err := NewRecorder(Options{Dir: dir, MaxAge: 21 * 24 * time.Hour, MaxBytes: 1 << 20})
	if err != nil {
		t.Fatal(err)
	}
	var logged bytes.Buffer
	log := slog.New(NewHandler(slog.NewTextHandler(&logged, &slog.HandlerOptions{Level: slog.LevelWarn}), rec))
	smtpLog := log.With("service", "smtp", "sid", "S1")
	smtpLog.Info("connect", "client", "192.0.2.7")
	smtpLog.Info("helo", "helo", "mx.example.net", "tls", "TLS1.3")
	smtpLog.Info("message", "id", "S1.1", "from", "bob@example.net", "to", "alice@example.org,carol@example.org", "message_id", "m1@example.net")
	smtpLog.Info("queued", "id", "S1.1", "queue_id", "Q1", "to", "carol@example.org")
	log.Warn("delivery", "id", "Q1", "to", "carol@example.org", "status", "deferred", "code", 535, "reason", "auth failed")
	log.Info("unrelated", "id", "Q9", "to", "dave@example.org")
	log.Info("no link at all")
	rec.Close()
	if strings.Contains(logged.String(), "helo") || !strings.Contains(logged.String(), "delivery") {
		t.Errorf("the log's own level was not kept:\n%s", logged.String())
	}
	events, err := ReadAll(dir)
	if err != nil || len(events) != 6 {
		t.Fatalf("read %d events (%v), want 6", len(events), err)
	}
	for _, q := range []Query{{MessageID: "<m1@example.net>"}, {QueueID: "Q1"}, {Address: "Carol@example.org"}} {
		stories := Find(events, q)
		if len(stories) != 1 || len(stories[0].Events) != 5 {
			t.Fatalf("%+v: %d stories %+v", q, len(stories), stories)
		}
		var b strings.Builder
		stories[0].Write(&b)
		for _, want := range []string{"client=192.0.2.7", "helo=mx.example.net", "message_id=m1@example.net", "code=535", `reason="auth failed"`} {
			if !strings.Contains(b.String(), want) {
				t.Errorf("%+v: story lacks %q:\n%s", q, want, b.String())
			}
		}
	}
	if s := Find(events, Query{MessageID: "other@x"}); len(s) != 0 {
		t.Errorf("unknown Message-ID found %+v", s)
	}
	if s := Find(events, Query{}); len(s) != 0 {
		t.Errorf("an empty query found %d stories", len(s))
	}
}

func TestPruneByAgeAndSize(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	now := time.Date(2026, 6, 30, 12, 0, 0, 0, time.UTC)
	for _, d := range []string{"2026-05-01", "2026-06-28", "2026-06-29"} {
		os.WriteFile(filepath.Join(dir, d+".jsonl"), bytes.Repeat([]byte("x"), 600), 0o640)
	}
	rec, err := NewRecorder(Options{Dir: dir, MaxAge: 21 * 24 * time.Hour, MaxBytes: 1000, Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	rec.Close()
	left, _ := filepath.Glob(filepath.Join(dir, "*.jsonl"))
	if len(left) != 1 || filepath.Base(left[0]) != "2026-06-29.jsonl" {
		t.Errorf("left %v, want only the newest day", left)
	}
}

func TestRecordNeverBlocks(t *testing.T) {
	t.Parallel()
	rec, err := NewRecorder(Options{Dir: t.TempDir(), Buffer: 1, MaxAge: time.Hour, MaxBytes: 1 << 20})
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
}

// TestRecentSessions: the newest sessions first, each with its HELO, from the newest day
// back, at most the limit, none before since.
func TestRecentSessions(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	day := func(date string, lines ...string) {
		if err := os.WriteFile(filepath.Join(dir, date+".jsonl"), []byte(strings.Join(lines, "\n")+"\n"), 0o640); err != nil {
			t.Fatal(err)
		}
	}
	conn := func(at, sid, client, trusted string) string {
		return `{"t":"` + at + `","what":"connect","attrs":{"sid":"` + sid + `","client":"` + client + `","role":"mx","trusted":"` + trusted + `"}}`
	}
	helo := func(at, sid, name string) string {
		return `{"t":"` + at + `","what":"helo","attrs":{"sid":"` + sid + `","helo":"` + name + `"}}`
	}
	day("2026-12-01", conn("2026-12-01T10:00:00Z", "A", "192.0.2.1", "false"), helo("2026-12-01T10:00:01Z", "A", "old.example"))
	day("2026-12-06", conn("2026-12-06T10:00:00Z", "B", "127.0.0.1", "true"), helo("2026-12-06T10:00:01Z", "B", "mx.b.example"))
	day("2026-12-07", conn("2026-12-07T09:00:00Z", "C", "::ffff:127.0.0.1", "true"), "{torn",
		conn("2026-12-07T09:00:01Z", "D", "192.0.2.9", "false"), helo("2026-12-07T09:00:02Z", "C", "mx.c.example"))
	ss, err := RecentSessions(dir, time.Date(2026, 12, 5, 0, 0, 0, 0, time.UTC), 10)
	if err != nil || len(ss) != 3 {
		t.Fatalf("%d sessions (%v): %+v", len(ss), err, ss)
	}
	if ss[0].Client.String() != "192.0.2.9" || ss[0].HELO != "" || ss[1].Client.String() != "127.0.0.1" || !ss[1].Trusted ||
		ss[1].HELO != "mx.c.example" || ss[2].HELO != "mx.b.example" {
		t.Errorf("sessions %+v", ss)
	}
	if ss, _ := RecentSessions(dir, time.Time{}, 2); len(ss) != 2 || ss[1].HELO != "mx.c.example" {
		t.Errorf("limit 2: %+v", ss)
	}
}
