package queue

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// Kill -9 leaves files in any state; Open must keep every complete message
// and drop the rest without corrupting anything.
func TestOpenCleansPartialFiles(t *testing.T) {
	t.Parallel()
	h := newHarness(t, newTransport(deliverAll), nil)
	good := h.enqueue(t, "alice@example.com", "bob@example.org")
	tmpl := h.enqueue(t, "alice@example.com", "carol@example.org")
	h.q.Close()
	full, err := os.ReadFile(filepath.Join(h.dir, tmpl))
	if err != nil {
		t.Fatal(err)
	}
	os.Remove(filepath.Join(h.dir, tmpl))
	os.Remove(filepath.Join(h.dir, tmpl+statusSuffix))
	write := func(name string, data []byte) {
		if err := os.WriteFile(filepath.Join(h.dir, name), data, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	// Message files cut at every interesting point, and one with a flipped byte.
	write("PARTIAL0001", full[:len(full)/2])
	write("PARTIAL0001"+statusSuffix, nil)
	write("PARTIAL0002", full[:len(full)-1])
	write("PARTIAL0003", nil)
	flipped := bytes.Clone(full)
	flipped[len(msgMagic)+5] ^= 0x20
	write("PARTIAL0004", flipped)
	write("ORPHAN00001"+statusSuffix, []byte("junk"))
	write(".tmp-123", []byte("junk"))
	// A torn record at the end of the good message's status file.
	rec, _ := encodeRecords([]record{{Kind: recAttempt, N: 1, At: h.clock.Now()}})
	f, err := os.OpenFile(filepath.Join(h.dir, good+statusSuffix), os.O_APPEND|os.O_WRONLY|os.O_CREATE, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	f.Write(rec)
	f.Write(rec[:len(rec)-4])
	f.Close()

	h.open(t)
	list := h.q.List()
	if len(list) != 1 || list[0].ID != good || list[0].Attempts != 1 {
		t.Fatalf("after recovery: %+v", list)
	}
	des, _ := os.ReadDir(h.dir)
	var names []string
	for _, de := range des {
		names = append(names, de.Name())
	}
	if strings.Join(names, " ") != good+" "+good+statusSuffix {
		t.Errorf("files after recovery: %v", names)
	}
	st, _ := os.ReadFile(filepath.Join(h.dir, good+statusSuffix))
	if !bytes.Equal(st, rec) {
		t.Errorf("status not truncated to the last whole record: %q", st)
	}
	// The queue goes on working: new records append cleanly, the message is delivered.
	h.clock.Advance(time.Hour)
	h.run(t)
	if c := h.tr.next(t); c.id != good || c.attempt != 2 {
		t.Errorf("after recovery: %+v", c)
	}
	eventually(t, "removal", func() bool { return h.q.Len() == 0 })
}

// A message never attempted has no status file; Open keeps it, due at once,
// and creates none.
func TestOpenWithoutStatus(t *testing.T) {
	t.Parallel()
	h := newHarness(t, newTransport(deliverAll), nil)
	id := h.enqueue(t, "alice@example.com", "bob@example.org")
	h.q.Close()
	h.open(t)
	if list := h.q.List(); len(list) != 1 || list[0].Attempts != 0 || list[0].NextAttempt.After(h.clock.Now()) {
		t.Fatalf("after Open: %+v", list)
	}
	if names := dirNames(t, h.dir); names != id {
		t.Errorf("files after Open: %s", names)
	}
	h.run(t)
	if c := h.tr.next(t); c.id != id || c.attempt != 1 {
		t.Errorf("attempt: %+v", c)
	}
}

// A message relayed at its first attempt costs one file: no status file while
// the attempt runs (the message file's mode marks it) nor after; a deferred
// one gets its status file then, with the first attempt's record first.
func TestOneFileUnlessDeferred(t *testing.T) {
	t.Parallel()
	var h *harness
	seen := make(chan string, 2)
	tr := newTransport(func(c call) []Result {
		fi, err := os.Stat(filepath.Join(h.dir, c.id))
		if err != nil {
			t.Error(err)
			return deliverAll(c)
		}
		seen <- fmt.Sprintf("%s %v", dirNames(t, h.dir), fi.Mode().Perm())
		if c.rcpts[0] == "later@example.org" {
			return answerAll(451, "4.3.0", "later")(c)
		}
		return deliverAll(c)
	})
	h = newHarness(t, tr, nil)
	h.run(t)
	id := h.enqueue(t, "alice@example.com", "bob@example.org")
	if got, want := <-seen, id+" -rwx------"; got != want {
		t.Errorf("during the attempt: %q, want %q", got, want)
	}
	eventually(t, "removal", func() bool { return h.q.Len() == 0 })
	if names := dirNames(t, h.dir); names != "" {
		t.Errorf("files after delivery: %s", names)
	}
	later := h.enqueue(t, "alice@example.com", "later@example.org")
	<-seen
	eventually(t, "deferral", func() bool { return !h.info(t, later).Active })
	data, err := os.ReadFile(filepath.Join(h.dir, later+statusSuffix))
	if err != nil {
		t.Fatal(err)
	}
	recs, _ := parseStatus(data)
	if len(recs) != 2 || recs[0].Kind != recAttempt || recs[0].N != 1 || recs[1].Kind != recRcpt || recs[1].Status != StatusDeferred {
		t.Errorf("status records: %+v", recs)
	}
}

// dirNames is the names in dir, sorted, space-separated.
func dirNames(t *testing.T, dir string) string {
	t.Helper()
	des, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, de := range des {
		names = append(names, de.Name())
	}
	return strings.Join(names, " ")
}

// A message whose recipients were all final when the process died is
// removed at Open, not delivered again.
func TestOpenRemovesFinishedMessage(t *testing.T) {
	t.Parallel()
	h := newHarness(t, newTransport(deliverAll), nil)
	id := h.enqueue(t, "alice@example.com", "bob@example.org")
	appendRecords(filepath.Join(h.dir, id+statusSuffix), []record{
		{Kind: recAttempt, N: 1, At: h.clock.Now()},
		{Kind: recRcpt, Rcpt: "bob@example.org", Status: StatusDelivered, Code: 250},
	}, nil)
	h.q.Close()
	h.open(t)
	if h.q.Len() != 0 {
		t.Errorf("finished message resumed: %+v", h.q.List())
	}
}

func TestEnqueueAfterCloseFails(t *testing.T) {
	t.Parallel()
	h := newHarness(t, newTransport(deliverAll), nil)
	h.q.Close()
	if _, err := h.q.Enqueue(context.Background(), Envelope{From: "a@b", Rcpts: []string{"c@d"}}, strings.NewReader("x")); err == nil {
		t.Error("Enqueue after Close succeeded")
	}
}

func FuzzParseMessage(f *testing.F) {
	f.Add([]byte(msgMagic + `{"from":"a@b","rcpts":["c@d"],"arrival":"2026-01-01T00:00:00Z"}` + "\nhello\r\n\nEND 0000000000000007 00000000\n"))
	f.Add([]byte(msgMagic))
	f.Add([]byte("garbage"))
	f.Fuzz(func(t *testing.T, data []byte) {
		meta, off, n, err := parseMessage(data)
		if err != nil {
			return
		}
		if off < 0 || n < 0 || off+n > int64(len(data)) || len(meta.Rcpts) == 0 {
			t.Fatalf("bad bounds off=%d n=%d len=%d", off, n, len(data))
		}
	})
}

func FuzzParseStatus(f *testing.F) {
	rec, _ := encodeRecords([]record{{Kind: recAttempt, N: 1}, {Kind: recRcpt, Rcpt: "a@b", Status: StatusDeferred, Text: "x"}})
	f.Add(rec)
	f.Add(rec[:len(rec)-3])
	f.Add([]byte("00000000 {}\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		recs, good := parseStatus(data)
		if good < 0 || good > len(data) {
			t.Fatalf("good = %d of %d", good, len(data))
		}
		again, good2 := parseStatus(data[:good])
		if good2 != good || len(again) != len(recs) {
			t.Fatalf("reparse of the good prefix differs")
		}
		e := newEntry("ABCDEFGH", &msgMeta{Envelope: Envelope{Rcpts: []string{"a@b"}}}, 0, 0)
		for i := range recs {
			e.apply(&recs[i])
		}
	})
}

// A hold and release before the first attempt make the status file; the
// first attempt is still marked on the message file's mode, its record goes
// after theirs when the message is deferred, and a message delivered then
// leaves neither file behind.
func TestHoldBeforeFirstAttempt(t *testing.T) {
	t.Parallel()
	var h *harness
	modes := make(chan string, 2)
	tr := newTransport(func(c call) []Result {
		if fi, err := os.Stat(filepath.Join(h.dir, c.id)); err == nil {
			modes <- fi.Mode().Perm().String()
		} else {
			t.Error(err)
		}
		if c.rcpts[0] == "later@example.org" {
			return answerAll(451, "4.3.0", "later")(c)
		}
		return deliverAll(c)
	})
	h = newHarness(t, tr, nil)
	now := h.enqueue(t, "alice@example.com", "bob@example.org")
	later := h.enqueue(t, "alice@example.com", "later@example.org")
	for _, id := range []string{now, later} {
		if err := h.q.Hold(id); err != nil {
			t.Fatal(err)
		}
		if err := h.q.Release(id); err != nil {
			t.Fatal(err)
		}
	}
	h.run(t)
	for range 2 {
		if m := <-modes; m != "-rwx------" {
			t.Errorf("mode during the first attempt: %s", m)
		}
	}
	eventually(t, "removal and deferral", func() bool { return h.q.Len() == 1 && !h.info(t, later).Active })
	if names := dirNames(t, h.dir); names != later+" "+later+statusSuffix {
		t.Errorf("files: %s", names)
	}
	data, err := os.ReadFile(filepath.Join(h.dir, later+statusSuffix))
	if err != nil {
		t.Fatal(err)
	}
	recs, _ := parseStatus(data)
	var kinds []string
	for _, r := range recs {
		kinds = append(kinds, fmt.Sprint(r.Kind, r.N))
	}
	if got, want := strings.Join(kinds, " "), fmt.Sprint(recHold, 0, " ", recRelease, 0, " ", recAttempt, 1, " ", recRcpt, 0); got != want {
		t.Errorf("status records %q, want %q", got, want)
	}
}
