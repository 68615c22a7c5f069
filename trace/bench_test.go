package trace

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"testing"
	"time"
)

// BenchmarkMailLogLine: what one mail-log line (the "delivered" line's shape) costs the
// delivering goroutine with the trace tee in front of the log handler, next to the log
// handler alone. The writer runs on its own goroutine and is not on this path.
func BenchmarkMailLogLine(b *testing.B) {
	line := func(l *slog.Logger) {
		l.LogAttrs(context.Background(), slog.LevelInfo, "delivered", slog.String("service", "smtp"), slog.String("sid", "XBQ4CRNKT6K5"),
			slog.String("client", "127.0.0.1"), slog.String("id", "XBQ4CRNKT6K5.1"), slog.String("from", "sender@example.org"),
			slog.String("to", "alice@example.test"), slog.Int64("size", 4096), slog.String("status", "delivered"),
			slog.String("mailbox", "alice@example.test/INBOX"), slog.String("uid", "17"))
	}
	b.Run("log-only", func(b *testing.B) {
		l := slog.New(slog.NewTextHandler(io.Discard, nil))
		b.ReportAllocs()
		for b.Loop() {
			line(l)
		}
	})
	b.Run("log+trace", func(b *testing.B) {
		rec, err := NewRecorder(Options{Store: openStore(b), Buffer: 1 << 16})
		if err != nil {
			b.Fatal(err)
		}
		defer rec.Close()
		l := slog.New(NewHandler(slog.NewTextHandler(io.Discard, nil), rec))
		b.ReportAllocs()
		for b.Loop() {
			line(l)
		}
		b.ReportMetric(float64(rec.Dropped()), "dropped")
	})
}

// BenchmarkStoreEvent: what writing one event into the store costs the writer goroutine
// (chunks of 256, one relaxed transaction each), the "delivered" line's shape, eight
// events per message.
func BenchmarkStoreEvent(b *testing.B) {
	st := openStore(b)
	ctx := context.Background()
	batch := make([]Event, 0, 256)
	i := 0
	b.ReportAllocs()
	for b.Loop() {
		i++
		batch = append(batch, Event{Time: time.Now(), What: "delivered", Attrs: map[string]string{"service": "smtp",
			"sid": fmt.Sprintf("XBQ4CR%06d", i/8), "client": "127.0.0.1", "id": fmt.Sprintf("XBQ4CR%06d.1", i/8), "from": "sender@example.org",
			"to": "alice@example.test", "size": "4096", "status": "delivered", "mailbox": "alice@example.test/INBOX", "uid": "17",
			"message_id": fmt.Sprintf("m%d@example.org", i/8)}})
		if len(batch) == cap(batch) {
			if err := st.AppendTrace(ctx, chunk(batch)); err != nil {
				b.Fatal(err)
			}
			batch = batch[:0]
		}
	}
}
