package queue

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"syscall"
	"testing"
	"time"
)

// countingTransport accepts everything at once.
type countingTransport struct{}

func (countingTransport) Send(ctx context.Context, m *Message, rcpts []string) []Result {
	io.Copy(io.Discard, m.Body())
	return deliverAll(call{rcpts: rcpts})
}

func benchQueue(b *testing.B) *Queue {
	q, err := Open(b.TempDir(), Options{
		Transport: countingTransport{},
		Logger:    slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { q.Close() })
	return q
}

var body4K = bytes.Repeat([]byte("0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ.\r\n"), 4096/66)

// BenchmarkEnqueue4K: one writer, fsync on; the latency of one Enqueue.
func BenchmarkEnqueue4K(b *testing.B) {
	q := benchQueue(b)
	env := Envelope{From: "alice@example.com", Rcpts: []string{"bob@example.org"}}
	b.SetBytes(int64(len(body4K)))
	for b.Loop() {
		if _, err := q.Enqueue(context.Background(), env, bytes.NewReader(body4K)); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkEnqueue4KParallel10: ten writers, as ten SMTP sessions would be;
// ns/op is the inverse of throughput (group commit shares fsyncs).
func BenchmarkEnqueue4KParallel10(b *testing.B) {
	q := benchQueue(b)
	env := Envelope{From: "alice@example.com", Rcpts: []string{"bob@example.org"}}
	b.SetBytes(int64(len(body4K)))
	b.SetParallelism(5) // 5 x GOMAXPROCS(2) = 10 goroutines on the reference machine
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := q.Enqueue(context.Background(), env, bytes.NewReader(body4K)); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

// cpuTime is the process's user+system CPU time so far.
func cpuTime(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkEnqueueAndDeliver10: ten writers with the scheduler running and
// a transport that accepts at once: the queue's whole cost per message
// (enqueue, attempt record, removal). cpu-us/op is the process's CPU time per
// message, kernel included: the file system's work for each file created and
// removed shows there (on ext4 without a journal, creating a file scans past
// the inodes freed in the last minutes, so it grows with the messages removed).
func BenchmarkEnqueueAndDeliver10(b *testing.B) {
	q := benchQueue(b)
	cpu0 := cpuTime(b)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { q.Run(ctx, nil); close(done) }()
	env := Envelope{From: "alice@example.com", Rcpts: []string{"bob@example.org"}}
	b.SetParallelism(5)
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := q.Enqueue(context.Background(), env, bytes.NewReader(body4K)); err != nil {
				b.Error(err)
				return
			}
		}
	})
	for q.Len() > 0 {
		time.Sleep(time.Millisecond)
	}
	b.StopTimer()
	b.ReportMetric(float64((cpuTime(b)-cpu0).Microseconds())/float64(b.N), "cpu-us/op")
	cancel()
	<-done
}
