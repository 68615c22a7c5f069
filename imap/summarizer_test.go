package imap

import (
	"context"
	"testing"

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
	h := &mdHelper{root: e.root("alice@example.org")}
	var recs []store.NewMessage
	for _, s := range []string{"one", "two", "three"} {
		nm, err := h.deliver(t, testMessage(s, "body"))
		if err != nil {
			t.Fatal(err)
		}
		recs = append(recs, nm)
	}
	added, err := e.st.AddMessages(ctx, recs)
	if err != nil {
		t.Fatal(err)
	}
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
