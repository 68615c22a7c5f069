package imap

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	goimap "github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"

	"github.com/postern/postern/store"
)

// watcher is a second session that records the unsolicited responses it gets.
type watcher struct {
	c        *imapclient.Client
	flags    chan goimap.Flag // each flag of each unsolicited FETCH
	expunged chan uint32
	exists   chan uint32
}

func (e *env) watch(user string) *watcher {
	w := &watcher{flags: make(chan goimap.Flag, 100), expunged: make(chan uint32, 100), exists: make(chan uint32, 100)}
	w.c = e.dial(user, &imapclient.UnilateralDataHandler{
		Fetch: func(m *imapclient.FetchMessageData) {
			for item := m.Next(); item != nil; item = m.Next() {
				if f, ok := item.(imapclient.FetchItemDataFlags); ok {
					for _, fl := range f.Flags {
						w.flags <- fl
					}
				}
			}
		},
		Expunge: func(seq uint32) { w.expunged <- seq },
		Mailbox: func(d *imapclient.UnilateralDataMailbox) {
			if d.NumMessages != nil {
				w.exists <- *d.NumMessages
			}
		},
	})
	return w
}

// fetchAll returns subject and flags of every message, in sequence order.
func fetchAll(t *testing.T, c *imapclient.Client) ([]string, [][]goimap.Flag) {
	t.Helper()
	msgs, err := c.Fetch(goimap.SeqSet{{Start: 1, Stop: 0}}, &goimap.FetchOptions{UID: true, Flags: true, Envelope: true}).Collect()
	if err != nil {
		t.Fatal(err)
	}
	var subjects []string
	var flags [][]goimap.Flag
	for _, m := range msgs {
		subjects = append(subjects, m.Envelope.Subject)
		flags = append(flags, m.Flags)
	}
	return subjects, flags
}

func noop(t *testing.T, c *imapclient.Client) {
	t.Helper()
	if err := c.Noop().Wait(); err != nil {
		t.Fatal(err)
	}
}

// TestSnapshotSharedAndCoherent: two sessions on one mailbox share one snapshot, and
// what one does (flags, expunge), what a delivery adds and what another program does
// to the files all reach the other session, through its unsolicited responses and
// its next FETCH.
func TestSnapshotSharedAndCoherent(t *testing.T) {
	t.Parallel()
	e := newEnv(t, "alice@example.org")
	ctx := context.Background()
	a := e.dial("alice@example.org", nil)
	for _, s := range []string{"one", "two", "three"} {
		e.appendMsg(a, "INBOX", testMessage(s, "body "+s))
	}
	e.selectBox(a, "INBOX")
	b := e.watch("alice@example.org")
	e.selectBox(b.c, "INBOX")
	// Both load the snapshot (FETCH), then share it.
	if got, _ := fetchAll(t, a); !slices.Equal(got, []string{"one", "two", "three"}) {
		t.Fatalf("a sees %v", got)
	}
	if got, _ := fetchAll(t, b.c); !slices.Equal(got, []string{"one", "two", "three"}) {
		t.Fatalf("b sees %v", got)
	}
	mb, err := e.st.GetMailbox(ctx, "alice@example.org", "INBOX")
	if err != nil {
		t.Fatal(err)
	}
	if snap := e.srv.snaps.peek(mb.ID); snap == nil || snap.refs != 2 || snap.loaded() == nil {
		t.Fatalf("snapshot not shared by the two sessions: %+v", snap)
	}

	// A flag change by a: b hears of it at its next command and FETCH shows it.
	if err := a.Store(goimap.SeqSetNum(2), &goimap.StoreFlags{Op: goimap.StoreFlagsAdd, Silent: true, Flags: []goimap.Flag{goimap.FlagFlagged, "$Work"}}, nil).Close(); err != nil {
		t.Fatal(err)
	}
	noop(t, b.c)
	if got := recvFlag(t, b.flags); got != goimap.FlagFlagged && got != "$Work" {
		t.Errorf("b's unsolicited FETCH carries %q", got)
	}
	if _, flags := fetchAll(t, b.c); !slices.Contains(flags[1], goimap.FlagFlagged) || !slices.Contains(flags[1], "$Work") {
		t.Errorf("b's FETCH of message 2: %v", flags[1])
	}

	// An expunge by a: b is told at NOOP, and its FETCH 1:* has two messages.
	if err := a.Store(goimap.SeqSetNum(1), &goimap.StoreFlags{Op: goimap.StoreFlagsAdd, Silent: true, Flags: []goimap.Flag{goimap.FlagDeleted}}, nil).Close(); err != nil {
		t.Fatal(err)
	}
	if err := a.Expunge().Close(); err != nil {
		t.Fatal(err)
	}
	noop(t, b.c)
	if got := recv(t, b.expunged); got != 1 {
		t.Errorf("b saw EXPUNGE %d, want 1", got)
	}
	if got, _ := fetchAll(t, b.c); !slices.Equal(got, []string{"two", "three"}) {
		t.Errorf("b after expunge: %v", got)
	}

	// A delivery (as the delivery agent does it: file, index, MailboxChanged).
	h := &mdHelper{root: e.root("alice@example.org")}
	nm, err := h.deliver(t, testMessage("four", "delivered"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.st.AddMessages(ctx, []store.NewMessage{nm}); err != nil {
		t.Fatal(err)
	}
	e.srv.MailboxChanged("alice@example.org", "INBOX")
	noop(t, b.c)
	noop(t, a)
	if got := recv(t, b.exists); got != 3 {
		t.Errorf("b saw EXISTS %d, want 3", got)
	}
	if got, _ := fetchAll(t, b.c); !slices.Equal(got, []string{"two", "three", "four"}) {
		t.Errorf("b after delivery: %v", got)
	}
	if got, _ := fetchAll(t, a); !slices.Equal(got, []string{"two", "three", "four"}) {
		t.Errorf("a after delivery: %v", got)
	}

	// Another program: marks "four" seen by renaming it, drops "five" into cur/,
	// deletes "two".
	root := e.root("alice@example.org")
	four := ""
	for _, name := range files(t, root, "new") {
		if fileHasSubject(t, filepath.Join(root, "new", name), "four") {
			four = name
		}
	}
	if err := os.Rename(filepath.Join(root, "new", four), filepath.Join(root, "cur", four+":2,S")); err != nil {
		t.Fatal(err)
	}
	dropped := filepath.Join(root, "cur", "1700000000.M9P9.other:2,")
	if err := os.WriteFile(dropped, []byte(testMessage("five", "dropped")), 0o600); err != nil {
		t.Fatal(err)
	}
	old := time.Now().Add(-time.Hour)
	if err := os.Chtimes(dropped, old, old); err != nil {
		t.Fatal(err)
	}
	for _, name := range files(t, root, "cur") {
		if strings.Contains(name, ":2,") && fileHasSubject(t, filepath.Join(root, "cur", name), "two") {
			if err := os.Remove(filepath.Join(root, "cur", name)); err != nil {
				t.Fatal(err)
			}
		}
	}
	noop(t, b.c)
	subjects, flags := fetchAll(t, b.c)
	if !slices.Equal(subjects, []string{"three", "four", "five"}) {
		t.Fatalf("b after the other program: %v", subjects)
	}
	if !slices.Contains(flags[1], goimap.FlagSeen) {
		t.Errorf("four's flags after the rename: %v", flags[1])
	}
	noop(t, a)
	if got, _ := fetchAll(t, a); !slices.Equal(got, []string{"three", "four", "five"}) {
		t.Errorf("a after the other program: %v", got)
	}
	// The renamed file is still found for its body.
	body, err := a.Fetch(goimap.SeqSetNum(2), &goimap.FetchOptions{BodySection: []*goimap.FetchItemBodySection{{Peek: true}}}).Collect()
	if err != nil || len(body) != 1 || !strings.Contains(string(body[0].FindBodySection(&goimap.FetchItemBodySection{Peek: true})), "delivered") {
		t.Fatalf("body of the renamed message: %v %+v", err, body)
	}
}

// TestSnapshotSeesIndexChangesFromElsewhere: a change made to the index by another
// part of the process (here the store directly, as `postern reindex` or the delivery
// agent would) reaches a session whose snapshot is loaded, without any hub signal.
func TestSnapshotSeesIndexChangesFromElsewhere(t *testing.T) {
	t.Parallel()
	e := newEnv(t, "alice@example.org")
	ctx := context.Background()
	a := e.dial("alice@example.org", nil)
	e.appendMsg(a, "INBOX", testMessage("one", "x"))
	e.appendMsg(a, "INBOX", testMessage("two", "y"))
	e.selectBox(a, "INBOX")
	fetchAll(t, a)
	mb, err := e.st.GetMailbox(ctx, "alice@example.org", "INBOX")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.st.SetMessageFlags(ctx, mb.ID, 1, []string{`\Answered`}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.st.RemoveMessages(ctx, mb.ID, []uint32{2}); err != nil {
		t.Fatal(err)
	}
	noop(t, a)
	subjects, flags := fetchAll(t, a)
	// \Recent: the session selected INBOX after the APPENDs, so it is the first to see them.
	if !slices.Equal(subjects, []string{"one"}) || !slices.Equal(flags[0], []goimap.Flag{goimap.FlagAnswered, flagRecent}) {
		t.Fatalf("after index changes: %v %v", subjects, flags)
	}
}

// TestSnapshotsEvictedWhenUnselected: a snapshot no session holds stays only while
// it is among the KeptSnapshots most recently released.
func TestSnapshotsEvictedWhenUnselected(t *testing.T) {
	t.Parallel()
	r := &snapshots{maxIdle: 1}
	a, b := r.acquire(1), r.acquire(2)
	if r.acquire(1) != a {
		t.Fatal("second acquire of a mailbox made a new snapshot")
	}
	r.release(a)
	r.release(a)
	if r.peek(1) != a {
		t.Fatal("the only unreferenced snapshot was dropped")
	}
	r.release(b)
	if r.peek(1) != nil || r.peek(2) != b {
		t.Fatalf("kept %v and %v, want only the last released", r.peek(1), r.peek(2))
	}
	if r.acquire(2) != b || len(r.idle) != 0 {
		t.Fatal("re-acquiring a kept snapshot did not reuse it")
	}
}

// TestFlagsAppliedBehindSnapshot: flag changes this process committed while the
// snapshot was behind the index (another writer in between) are taken, but the
// snapshot does not claim the new HIGHESTMODSEQ, so its next refresh reads what it
// missed.
func TestFlagsAppliedBehindSnapshot(t *testing.T) {
	t.Parallel()
	e := newEnv(t, "alice@example.org")
	ctx := context.Background()
	a := e.dial("alice@example.org", nil)
	e.appendMsg(a, "INBOX", testMessage("one", "x"))
	e.appendMsg(a, "INBOX", testMessage("two", "y"))
	e.selectBox(a, "INBOX")
	fetchAll(t, a)
	mb, err := e.st.GetMailbox(ctx, "alice@example.org", "INBOX")
	if err != nil {
		t.Fatal(err)
	}
	snap := e.srv.snaps.peek(mb.ID)
	before := snap.loaded().state.HighestModSeq
	// Another writer first, then "our" change, as if they raced.
	if _, err := e.st.SetMessageFlags(ctx, mb.ID, 1, []string{`\Answered`}); err != nil {
		t.Fatal(err)
	}
	res, err := e.st.SetFlagsBatch(ctx, mb.ID, []store.FlagUpdate{{UID: 2, Flags: []string{`\Flagged`}}})
	if err != nil {
		t.Fatal(err)
	}
	snap.applyFlags(map[uint32]flagChange{2: {flags: []string{`\Flagged`}, modseq: res.ModSeqs[2]}}, res.From, res.To)
	v := snap.loaded()
	if v.state.HighestModSeq != before || !slices.Equal(v.msgs[1].Flags, []string{`\Flagged`}) {
		t.Fatalf("after applyFlags: MODSEQ %d (want %d), flags %v", v.state.HighestModSeq, before, v.msgs[1].Flags)
	}
	v, err = snap.current(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if v.state.HighestModSeq != res.To || !slices.Equal(v.msgs[0].Flags, []string{`\Answered`}) {
		t.Fatalf("after refresh: MODSEQ %d (want %d), flags %v", v.state.HighestModSeq, res.To, v.msgs[0].Flags)
	}
	// In step: our change right after the snapshot's MODSEQ moves it along.
	res, err = e.st.SetFlagsBatch(ctx, mb.ID, []store.FlagUpdate{{UID: 1, Flags: nil}})
	if err != nil {
		t.Fatal(err)
	}
	snap.applyFlags(map[uint32]flagChange{1: {flags: nil, modseq: res.ModSeqs[1]}}, res.From, res.To)
	if got := snap.loaded().state.HighestModSeq; got != res.To {
		t.Fatalf("in-step applyFlags left MODSEQ at %d, want %d", got, res.To)
	}
}

func recvFlag(t *testing.T, ch <-chan goimap.Flag) goimap.Flag {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(5 * time.Second):
		t.Fatal("no unsolicited FETCH")
		return ""
	}
}

func fileHasSubject(t *testing.T, path, subject string) bool {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return strings.Contains(string(b), "Subject: "+subject+"\r\n")
}

// TestReselectSeesChanges: SELECT reuses the UID list of an unchanged mailbox, and
// reads it again when the mailbox changed in between.
func TestReselectSeesChanges(t *testing.T) {
	t.Parallel()
	e := newEnv(t, "alice@example.org")
	a := e.dial("alice@example.org", nil)
	e.appendMsg(a, "INBOX", testMessage("one", "x"))
	if d := e.selectBox(a, "INBOX"); d.NumMessages != 1 {
		t.Fatalf("first SELECT: %d messages", d.NumMessages)
	}
	if err := a.Unselect().Wait(); err != nil {
		t.Fatal(err)
	}
	if d := e.selectBox(a, "INBOX"); d.NumMessages != 1 {
		t.Fatalf("unchanged reselect: %d messages", d.NumMessages)
	}
	if err := a.Unselect().Wait(); err != nil {
		t.Fatal(err)
	}
	e.appendMsg(a, "INBOX", testMessage("two", "y"))
	if d := e.selectBox(a, "INBOX"); d.NumMessages != 2 {
		t.Fatalf("reselect after APPEND: %d messages", d.NumMessages)
	}
	if got, _ := fetchAll(t, a); !slices.Equal(got, []string{"one", "two"}) {
		t.Fatalf("FETCH after reselect: %v", got)
	}
}
