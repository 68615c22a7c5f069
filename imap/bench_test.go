package imap

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	goimap "github.com/emersion/go-imap/v2"

	"github.com/postern/postern/store"
)

// BenchmarkFetchEnvelopes10k measures FETCH 1:* (UID FLAGS RFC822.SIZE INTERNALDATE
// ENVELOPE) over TLS on a 10,000-message INBOX, the first row of the Dovecot comparison,
// with the envelopes in the message cache (every FETCH after the first).
func BenchmarkFetchEnvelopes10k(b *testing.B) { benchFetchEnvelopes(b, false) }

// BenchmarkFetchEnvelopes10kCold is the same FETCH with an unusable cache: every
// envelope is read from its file and the cache refilled, as on the first FETCH.
func BenchmarkFetchEnvelopes10kCold(b *testing.B) { benchFetchEnvelopes(b, true) }

func benchFetchEnvelopes(b *testing.B, cold bool) {
	const n = 10000
	e := newEnvB(b, "alice@example.org")
	root := e.root("alice@example.org")
	if err := os.MkdirAll(filepath.Join(root, "cur"), 0o700); err != nil {
		b.Fatal(err)
	}
	recs := make([]store.NewMessage, n)
	for i := range n {
		msg := testMessage(fmt.Sprintf("message%05d", i), "body of the message")
		base := fmt.Sprintf("1700000000.M%dP1.bench,S=%d,W=%d", i, len(msg), len(msg))
		if err := os.WriteFile(filepath.Join(root, "cur", base+":2,S"), []byte(msg), 0o600); err != nil {
			b.Fatal(err)
		}
		recs[i] = store.NewMessage{User: "alice@example.org", Mailbox: "INBOX", Filename: base,
			Size: int64(len(msg)), InternalDate: time.Unix(1700000000, 0), Flags: []string{`\Seen`}}
	}
	if _, err := e.st.AddMessages(b.Context(), recs); err != nil {
		b.Fatal(err)
	}
	c := e.dial("alice@example.org", nil)
	if d := e.selectBox(c, "INBOX"); d.NumMessages != n {
		b.Fatalf("INBOX has %d messages", d.NumMessages)
	}
	opts := &goimap.FetchOptions{UID: true, Flags: true, RFC822Size: true, InternalDate: true, Envelope: true}
	if _, err := c.Fetch(goimap.SeqSet{{Start: 1, Stop: 0}}, opts).Collect(); err != nil {
		b.Fatal(err)
	}
	spoil := make([]store.CacheEntry, n)
	for i, r := range recs {
		spoil[i] = store.CacheEntry{Filename: r.Filename, Envelope: []byte{0}} // version 0: undecodable
	}
	mb, err := e.st.GetMailbox(b.Context(), "alice@example.org", "INBOX")
	if err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for b.Loop() {
		if cold {
			b.StopTimer()
			if err := e.st.PutMessageCache(b.Context(), mb.ID, spoil); err != nil {
				b.Fatal(err)
			}
			b.StartTimer()
		}
		msgs, err := c.Fetch(goimap.SeqSet{{Start: 1, Stop: 0}}, opts).Collect()
		if err != nil {
			b.Fatal(err)
		}
		if len(msgs) != n {
			b.Fatalf("fetched %d", len(msgs))
		}
	}
}
