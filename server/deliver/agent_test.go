package deliver

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/postern/postern/server/deliver/delivertest"
	"github.com/postern/postern/smtp"
	"github.com/postern/postern/store"
	"github.com/postern/postern/store/maildir"
)

// testAgent is a delivery agent over a real store (delivertest.Store, with the alias
// team@ for all three users) and Maildir in a temp dir.
func testAgent(t *testing.T) (*Agent, *store.Store, string) {
	t.Helper()
	st, dir := delivertest.Store(t)
	idx := newIndexBatcher(st, discardLog())
	t.Cleanup(func() { idx.Close() })
	if err := st.AddAlias(context.Background(), "team@example.test", []string{"alice@example.test", "bob@example.test", "carol@example.test"}); err != nil {
		t.Fatal(err)
	}
	mail := filepath.Join(dir, "mail")
	a := &Agent{
		store: st, recipients: &expander{dir: st, delimiter: "+"}, namer: maildir.NewNamer("mail.example.test", time.Now),
		mailRoot: mail, hook: inboxOnly{}, index: idx, log: discardLog(), now: time.Now,
	}
	return a, st, mail
}

func testEnvelope(rcpts ...string) *smtp.Envelope {
	return &smtp.Envelope{
		ID:      "TEST.1",
		Session: &smtp.Session{ID: "TEST", HELO: "client.example.org", RemoteAddr: netip.MustParseAddrPort("192.0.2.1:2525"), Start: time.Now()},
		From:    "sender@example.org", Recipients: rcpts, Received: time.Now(),
	}
}

func inboxFiles(t *testing.T, mail, user string) []string {
	t.Helper()
	return delivertest.InboxFiles(t, mail, user)
}

func TestDeliverAliasOneCopyEach(t *testing.T) {
	t.Parallel()
	a, st, mail := testAgent(t)
	ctx := context.Background()
	msg := smtp.BytesMessage("Subject: hi\r\nMessage-ID: <1@example.org>\r\n\r\nhello\r\n")
	// alice is reached twice: through the alias and directly. She gets one copy.
	errs := a.Deliver(ctx, testEnvelope("team@example.test", "alice@example.test"), msg)
	for i, err := range errs {
		if err != nil {
			t.Fatalf("recipient %d: %v", i, err)
		}
	}
	for _, u := range []string{"alice", "bob", "carol"} {
		files := inboxFiles(t, mail, u)
		if len(files) != 1 {
			t.Fatalf("%s has %d files, want 1", u, len(files))
		}
		data, _ := os.ReadFile(files[0])
		if !bytes.HasPrefix(data, []byte("Return-Path: <sender@example.org>\r\n")) || !bytes.Contains(data, []byte("Received: from client.example.org")) {
			t.Fatalf("%s: headers missing:\n%s", u, data)
		}
		// Several users share one hard-linked file: no per-user Delivered-To.
		if bytes.Contains(data, []byte("Delivered-To:")) {
			t.Fatalf("%s: Delivered-To on a shared copy", u)
		}
		mb, err := st.GetMailbox(ctx, u+"@example.test", "INBOX")
		if err != nil || mb.Messages != 1 {
			t.Fatalf("%s index: %+v %v", u, mb, err)
		}
	}
}

func TestDeliverSingleUserHeaders(t *testing.T) {
	t.Parallel()
	a, _, mail := testAgent(t)
	errs := a.Deliver(context.Background(), testEnvelope("bob+news@example.test"), smtp.BytesMessage("Subject: x\r\n\r\nbody\r\n"))
	if errs[0] != nil {
		t.Fatal(errs[0])
	}
	files := inboxFiles(t, mail, "bob")
	data, _ := os.ReadFile(files[0])
	if !bytes.Contains(data, []byte("Delivered-To: bob@example.test\r\n")) {
		t.Fatalf("no Delivered-To:\n%s", data)
	}
}

func TestDeliverQuota(t *testing.T) {
	t.Parallel()
	a, st, mail := testAgent(t)
	ctx := context.Background()
	if err := st.SetQuota(ctx, "carol@example.test", 600); err != nil {
		t.Fatal(err)
	}
	msg := smtp.BytesMessage("Subject: q\r\n\r\n" + strings.Repeat("x", 300) + "\r\n")
	if errs := a.Deliver(ctx, testEnvelope("carol@example.test"), msg); errs[0] != nil {
		t.Fatalf("first message under quota: %v", errs[0])
	}
	errs := a.Deliver(ctx, testEnvelope("carol@example.test", "bob@example.test"), msg)
	var re *smtp.ReplyError
	if !errors.As(errs[0], &re) || re.Code != 452 || re.EnhancedString() != "4.2.2" {
		t.Fatalf("over quota: %v, want 452 4.2.2", errs[0])
	}
	if errs[1] != nil {
		t.Fatalf("bob is not over quota: %v", errs[1])
	}
	if n := len(inboxFiles(t, mail, "carol")); n != 1 {
		t.Fatalf("carol has %d messages, want 1", n)
	}
	// The RCPT-time check says the same once she is at her limit.
	p := &recipientPolicy{agent: a}
	if err := st.SetQuota(ctx, "carol@example.test", 100); err != nil {
		t.Fatal(err)
	}
	if err := p.CheckRecipient(ctx, &smtp.Session{}, "", "carol@example.test"); err == nil || !strings.HasPrefix(err.Error(), "452") {
		t.Fatalf("RCPT for a full mailbox: %v", err)
	}
}

// failingHook stands in for a Sieve script that fails at run time.
type failingHook struct{}

func (failingHook) Decide(context.Context, *hookInput) (decision, error) {
	return decision{}, errors.New("script exploded")
}

type junkHook struct{}

func (junkHook) Decide(context.Context, *hookInput) (decision, error) {
	return decision{Placements: []placement{{Mailbox: "Junk", Flags: []string{`\Seen`, "$Junk"}}}}, nil
}

func TestDeliverHook(t *testing.T) {
	t.Parallel()
	a, st, mail := testAgent(t)
	ctx := context.Background()
	a.hook = failingHook{}
	if errs := a.Deliver(ctx, testEnvelope("alice@example.test"), smtp.BytesMessage("Subject: a\r\n\r\nx\r\n")); errs[0] != nil {
		t.Fatal(errs[0])
	}
	if n := len(inboxFiles(t, mail, "alice")); n != 1 {
		t.Fatalf("a failing filter must keep the message in INBOX; INBOX has %d", n)
	}
	a.hook = junkHook{}
	if errs := a.Deliver(ctx, testEnvelope("alice@example.test"), smtp.BytesMessage("Subject: b\r\n\r\nx\r\n")); errs[0] != nil {
		t.Fatal(errs[0])
	}
	entries, err := maildir.Scan(filepath.Join(mail, "example.test", "alice", ".Junk"))
	if err != nil || len(entries) != 1 || !strings.HasSuffix(entries[0].Name, ":2,Sa") {
		t.Fatalf("Junk: %+v %v", entries, err)
	}
	mb, err := st.GetMailbox(ctx, "alice@example.test", "Junk")
	if err != nil || mb.Messages != 1 || mb.Unseen != 0 {
		t.Fatalf("Junk index: %+v %v", mb, err)
	}
}

func TestDeliverConcurrentGroupCommit(t *testing.T) {
	t.Parallel()
	a, st, mail := testAgent(t)
	ctx := context.Background()
	const n = 200
	var wg sync.WaitGroup
	errc := make(chan error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			msg := smtp.BytesMessage(fmt.Sprintf("Subject: %d\r\n\r\nbody %d\r\n", i, i))
			if errs := a.Deliver(ctx, testEnvelope("bob@example.test"), msg); errs[0] != nil {
				errc <- errs[0]
			}
		}()
	}
	wg.Wait()
	close(errc)
	for err := range errc {
		t.Fatal(err)
	}
	if got := len(inboxFiles(t, mail, "bob")); got != n {
		t.Fatalf("%d files, want %d", got, n)
	}
	mb, err := st.GetMailbox(ctx, "bob@example.test", "INBOX")
	if err != nil || mb.Messages != n || mb.UIDNext != n+1 {
		t.Fatalf("index: %+v %v", mb, err)
	}
}

func TestIndexBatchIsolatesFailures(t *testing.T) {
	t.Parallel()
	_, st, _ := testAgent(t)
	b := newIndexBatcher(st, discardLog())
	defer b.Close()
	ctx := context.Background()
	good := func(i int) []store.NewMessage {
		return []store.NewMessage{{User: "alice@example.test", Mailbox: "INBOX", Filename: fmt.Sprintf("%d.M1P1Q%d.host,S=10,W=10", i, i), Size: 10, InternalDate: time.Now()}}
	}
	if _, err := b.Add(ctx, good(0)); err != nil {
		t.Fatal(err)
	}
	// Submit many at once, one of which duplicates file 0: only that one fails.
	var wg sync.WaitGroup
	results := make([]error, 40)
	for i := range results {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if i == 7 {
				_, results[i] = b.Add(ctx, good(0))
				return
			}
			_, results[i] = b.Add(ctx, good(i+1))
		}()
	}
	wg.Wait()
	for i, err := range results {
		if (i == 7) != (err != nil) {
			t.Fatalf("request %d: err = %v", i, err)
		}
	}
}

// TestDeliverAlreadyIndexed: if an IMAP rescan indexed the new file before the delivery
// did, the delivery still succeeds and the file is indexed once.
func TestDeliverAlreadyIndexed(t *testing.T) {
	t.Parallel()
	a, st, _ := testAgent(t)
	ctx := context.Background()
	rec := store.NewMessage{User: "alice@example.test", Mailbox: "INBOX", Filename: "1.M1P1Q1.host,S=5,W=5", Size: 5, InternalDate: time.Now()}
	if _, err := st.AddMessages(ctx, []store.NewMessage{rec}); err != nil {
		t.Fatal(err)
	}
	rec2 := rec
	rec2.User = "bob@example.test"
	if _, err := a.indexCopies(ctx, []store.NewMessage{rec, rec2}); err != nil {
		t.Fatalf("indexCopies with one copy already indexed: %v", err)
	}
	for _, u := range []string{"alice@example.test", "bob@example.test"} {
		mb, err := st.GetMailbox(ctx, u, "INBOX")
		if err != nil || mb.Messages != 1 {
			t.Fatalf("%s: %+v %v", u, mb, err)
		}
	}
}
