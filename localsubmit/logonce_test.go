package localsubmit

import (
	"strconv"
	"testing"
	"time"
)

// TestLogGate: a key is logged once per logEvery with the count of lines skipped since,
// other keys independently, and the remembered keys stay bounded.
func TestLogGate(t *testing.T) {
	t.Parallel()
	now := time.Unix(1000, 0)
	g := newLogGate(func() time.Time { return now })
	if ok, n := g.allow("a"); !ok || n != 0 {
		t.Fatalf("first line: %v %d", ok, n)
	}
	for range 5 {
		if ok, _ := g.allow("a"); ok {
			t.Fatal("a repeat within logEvery was logged")
		}
	}
	if ok, _ := g.allow("b"); !ok {
		t.Error("another key is held back by a")
	}
	now = now.Add(logEvery)
	if ok, n := g.allow("a"); !ok || n != 5 {
		t.Errorf("after logEvery: %v, %d skipped; want logged, 5", ok, n)
	}
	for i := range 3 * maxLogKeys {
		g.allow(strconv.Itoa(i))
	}
	if len(g.keys) > maxLogKeys {
		t.Errorf("%d keys remembered, at most %d", len(g.keys), maxLogKeys)
	}
}
