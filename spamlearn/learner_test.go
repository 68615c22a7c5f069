package spamlearn

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// controller is a stand-in for Rspamd's controller that fails on demand
// (the faults the real one cannot be made to show on cue).
type controller struct {
	mu       sync.Mutex
	failures int // answer 503 this many times first
	got      []string
	password string
}

func (c *controller) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.failures > 0 {
		c.failures--
		http.Error(w, "busy", http.StatusServiceUnavailable)
		return
	}
	if c.password != "" && r.Header.Get("Password") != c.password {
		http.Error(w, `{"error":"Unauthorized"}`, http.StatusForbidden)
		return
	}
	b, _ := io.ReadAll(r.Body)
	c.got = append(c.got, r.URL.Path+" "+string(b))
	if strings.Contains(string(b), "again") && len(c.got) > 1 {
		w.WriteHeader(http.StatusAlreadyReported)
		io.WriteString(w, `{"error":"<x> has been already learned as spam, ignore it"}`)
		return
	}
	io.WriteString(w, `{"success":true}`)
}

func (c *controller) requests() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]string(nil), c.got...)
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func newTestLearner(t *testing.T, url, spool string) *Learner {
	t.Helper()
	l, err := New(Options{Controller: url, Spool: spool, Password: "pw", MaxBackoff: 50 * time.Millisecond,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	return l
}

func TestLearnSurvivesFailuresAndRestart(t *testing.T) {
	t.Parallel()
	c := &controller{failures: 3, password: "pw"}
	srv := httptest.NewServer(c)
	defer srv.Close()
	dir := t.TempDir()
	spool := filepath.Join(dir, "spool")
	msg := filepath.Join(dir, "msg")
	if err := os.WriteFile(msg, []byte("Subject: buy\r\n\r\nnow\r\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	// First life: requests spooled, never sent (no Run), as if the daemon stopped.
	l1 := newTestLearner(t, srv.URL, spool)
	if err := l1.Learn(context.Background(), "alice@example.test", true, []string{msg}); err != nil {
		t.Fatal(err)
	}
	if err := l1.Learn(context.Background(), "alice@example.test", false, []string{msg}); err != nil {
		t.Fatal(err)
	}
	// The message may go away; the spool has its own link.
	os.Remove(msg)
	// Second life: the spool is sent, through three 503s, in order.
	l2 := newTestLearner(t, srv.URL, spool)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go l2.Run(ctx)
	waitFor(t, "both learns", func() bool { return len(c.requests()) == 2 })
	got := c.requests()
	if got[0] != "/learnspam Subject: buy\r\n\r\nnow\r\n" || !strings.HasPrefix(got[1], "/learnham ") {
		t.Fatalf("requests %q", got)
	}
	waitFor(t, "the spool to empty", func() bool {
		ents, _ := os.ReadDir(spool)
		return len(ents) == 0
	})
	st := l2.Stats()
	if st[Result{"spam", "learned"}] != 1 || st[Result{"ham", "learned"}] != 1 {
		t.Errorf("stats %v", st)
	}
}

func TestLearnRefusalsAndLimits(t *testing.T) {
	t.Parallel()
	c := &controller{password: "other"}
	srv := httptest.NewServer(c)
	defer srv.Close()
	dir := t.TempDir()
	msg := filepath.Join(dir, "msg")
	os.WriteFile(msg, []byte("again"), 0o600)
	l := newTestLearner(t, srv.URL, filepath.Join(dir, "spool"))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go l.Run(ctx)
	if err := l.Learn(ctx, "bob@example.test", true, []string{msg}); err != nil {
		t.Fatal(err)
	}
	// A wrong password is a refusal (403), not something to retry forever.
	waitFor(t, "the refusal", func() bool { return l.Stats()[Result{"spam", "refused"}] == 1 })
	l.o.MaxMessage = 3
	if err := l.Learn(ctx, "bob@example.test", true, []string{msg}); err != nil || l.Stats()[Result{"spam", "dropped"}] != 1 {
		t.Errorf("oversized message: %v %v", err, l.Stats())
	}
	// A down controller never blocks Learn.
	down := newTestLearner(t, "http://127.0.0.1:1", filepath.Join(dir, "spool2"))
	var n atomic.Int32
	go down.Run(ctx)
	start := time.Now()
	for i := 0; i < 50; i++ {
		if err := down.Learn(ctx, "bob@example.test", true, []string{msg}); err == nil {
			n.Add(1)
		}
	}
	if n.Load() != 50 {
		t.Errorf("%d of 50 learns spooled", n.Load())
	}
	t.Logf("50 learns spooled with the controller down in %v", time.Since(start))
	ents, _ := os.ReadDir(filepath.Join(dir, "spool2"))
	if len(ents) != 50 || down.Pending() != 50 {
		t.Errorf("%d files in the spool (Pending %d), want 50", len(ents), down.Pending())
	}
}

func TestReadPasswordFile(t *testing.T) {
	t.Parallel()
	p := filepath.Join(t.TempDir(), "pw")
	os.WriteFile(p, []byte("secret\n"), 0o644)
	if _, err := ReadPasswordFile(p); err == nil || !strings.Contains(err.Error(), "readable by others") {
		t.Errorf("world-readable password file: %v", err)
	}
	os.Chmod(p, 0o600)
	if pw, err := ReadPasswordFile(p); err != nil || pw != "secret" {
		t.Errorf("got %q, %v", pw, err)
	}
}
