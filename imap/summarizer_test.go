package imap

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/postern/postern/store"
)

// TestDeliveriesSummarisedInBackground: after MailboxChanged, the new messages get
// their cache entries without any FETCH, so the first FETCH reads no file.
func TestDeliveriesSummarisedInBackground(t *testing.T) {
	t.Parallel()
	e := newEnv(t, "alice@example.org")
	ctx := context.Background()
	c := e.dial("alice@example.org", nil)
	e.selectBox(c, "INBOX") // makes the Maildir
	added := deliverIndexed(t, e, []string{"one", "two", "three"})
	e.srv.MailboxChanged("alice@example.org", "INBOX")
	e.srv.MailboxChanged("alice@example.org", "INBOX") // a burst is one batch
	// The summariser's goroutine ends once it finds nothing more to do.
	e.srv.bg.Wait()
	rows, err := e.st.ListMessagesRangeCached(ctx, added[0].MailboxID, 1, 100)
	if err != nil || len(rows) != 3 {
		t.Fatalf("rows: %v %d", err, len(rows))
	}
	for i, r := range rows {
		env, err := decodeEnvelope(r.Envelope)
		if err != nil || r.Structure == nil {
			t.Fatalf("message %d not summarised: %v %x", i+1, err, r.Structure)
		}
		if want := []string{"one", "two", "three"}[i]; env.Subject != want {
			t.Errorf("message %d: subject %q, want %q", i+1, env.Subject, want)
		}
	}
	if missing, err := e.st.MessagesWithoutCache(ctx, added[0].MailboxID, 0, 10); err != nil || len(missing) != 0 {
		t.Fatalf("still without cache: %v %v", missing, err)
	}
}

// TestSummarizerTakesWholeBurst: a burst of more than maxBackfill deliveries into a
// mailbox the summariser has not seen yet (its first report comes while the burst is
// under way) is summarised whole, not only its newest maxBackfill messages.
func TestSummarizerTakesWholeBurst(t *testing.T) {
	t.Parallel()
	e := newEnv(t, "alice@example.org")
	ctx := context.Background()
	c := e.dial("alice@example.org", nil)
	e.selectBox(c, "INBOX")
	subjects := make([]string, maxBackfill+20)
	for i := range subjects {
		subjects[i] = fmt.Sprint("m", i)
	}
	added := deliverIndexed(t, e, subjects)
	e.srv.MailboxChanged("alice@example.org", "INBOX")
	e.srv.bg.Wait()
	if missing, err := e.st.MessagesWithoutCache(ctx, added[0].MailboxID, 0, 10); err != nil || len(missing) != 0 {
		t.Fatalf("%d messages left without cache (first UID %v): %v", len(missing), missing, err)
	}
}

// TestSummarizerWaitsForQuiet: the summariser holds back while reports keep coming
// within SummaryDelay of each other, but never longer than summaryMaxWait after the
// oldest one.
func TestSummarizerWaitsForQuiet(t *testing.T) {
	t.Parallel()
	const delay = 200 * time.Millisecond
	z := &summarizer{srv: &Server{opts: Options{SummaryDelay: delay}}}
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	if got := z.wait(t0); got != delay {
		t.Fatalf("nothing pending: wait %v, want %v", got, delay)
	}
	z.pending = map[hubKey]struct{}{{"a", "INBOX"}: {}}
	z.first, z.last = t0, t0
	if got := z.wait(t0.Add(50 * time.Millisecond)); got != 150*time.Millisecond {
		t.Errorf("50ms after the only report: wait %v, want 150ms", got)
	}
	if got := z.wait(t0.Add(delay)); got != 0 {
		t.Errorf("quiet for SummaryDelay: wait %v, want 0", got)
	}
	// A steady stream: a report every 100ms keeps it waiting until summaryMaxWait.
	now := t0
	for now.Sub(t0) < summaryMaxWait-delay {
		now = now.Add(100 * time.Millisecond)
		z.last = now
		if got := z.wait(now); got <= 0 {
			t.Fatalf("%v into a stream: wait %v, want > 0", now.Sub(t0), got)
		}
	}
	now = t0.Add(summaryMaxWait)
	z.last = now
	if got := z.wait(now); got != 0 {
		t.Errorf("summaryMaxWait after the oldest report: wait %v, want 0", got)
	}
}

// deliverIndexed delivers one message per subject into alice's INBOX Maildir and
// indexes them, as the delivery agent does, without telling the server.
func deliverIndexed(t *testing.T, e *env, subjects []string) []store.AddedMessage {
	t.Helper()
	h := &mdHelper{root: e.root("alice@example.org")}
	recs := make([]store.NewMessage, 0, len(subjects))
	for _, s := range subjects {
		nm, err := h.deliver(t, testMessage(s, "body"))
		if err != nil {
			t.Fatal(err)
		}
		recs = append(recs, nm)
	}
	added, err := e.st.AddMessages(context.Background(), recs)
	if err != nil {
		t.Fatal(err)
	}
	return added
}
