package imapsieve

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/postern/postern/event"
	"github.com/postern/postern/event/eventtest"
	"github.com/postern/postern/imap"
	"github.com/postern/postern/server/config"
	"github.com/postern/postern/sieve"
	"github.com/postern/postern/smtp"
	"github.com/postern/postern/store"
)

const alice = "alice@example.test"

func testStore(t *testing.T) *store.Store {
	t.Helper()
	ctx := context.Background()
	st, err := store.Open(ctx, filepath.Join(t.TempDir(), "postern.db"), store.Options{
		Argon2: store.Argon2Params{MemoryKiB: 64, Time: 1, Threads: 1}, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	if _, err := st.AddDomain(ctx, "example.test"); err != nil {
		t.Fatal(err)
	}
	if _, err := st.AddUser(ctx, alice, "a long enough password", store.UserOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := st.CreateDefaultMailboxes(ctx, alice); err != nil {
		t.Fatal(err)
	}
	return st
}

func scriptFile(t *testing.T, src string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "s.sieve")
	if err := os.WriteFile(p, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func newRunner(t *testing.T, st *store.Store, rules []config.IMAPSieveRule, rates Rates) *Runner {
	t.Helper()
	r, err := New(Options{Rules: rules, Store: st, Logger: slog.New(slog.DiscardHandler), Rates: rates, QueueSize: 64})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func TestRulesMatch(t *testing.T) {
	t.Parallel()
	st := testStore(t)
	s := scriptFile(t, `keep;`)
	r := newRunner(t, st, []config.IMAPSieveRule{
		{Mailbox: "Junk", Before: s},                                          // APPEND and COPY
		{Mailbox: "Lists/*", Causes: []string{"flag"}, Before: s},             // FLAG, one level
		{Mailbox: "inbox", From: "Junk", Causes: []string{"COPY"}, Before: s}, // out of Junk
	}, nil)
	for _, tc := range []struct {
		ev   imap.SieveEvent
		want bool
	}{
		{imap.SieveEvent{Mailbox: "Junk", Cause: imap.CauseAppend}, true},
		{imap.SieveEvent{Mailbox: "Junk", Cause: imap.CauseCopy, From: "INBOX"}, true},
		{imap.SieveEvent{Mailbox: "Junk", Cause: imap.CauseFlag}, false},
		{imap.SieveEvent{Mailbox: "junk", Cause: imap.CauseCopy}, false}, // names other than INBOX are exact
		{imap.SieveEvent{Mailbox: "Lists/go", Cause: imap.CauseFlag}, true},
		{imap.SieveEvent{Mailbox: "Lists/go/sub", Cause: imap.CauseFlag}, false},
		{imap.SieveEvent{Mailbox: "INBOX", Cause: imap.CauseCopy, From: "Junk"}, true},
		{imap.SieveEvent{Mailbox: "Inbox", Cause: imap.CauseCopy, From: "Junk"}, true}, // INBOX in any case
		{imap.SieveEvent{Mailbox: "INBOX", Cause: imap.CauseCopy, From: "Archive"}, false},
		{imap.SieveEvent{Mailbox: "INBOX", Cause: imap.CauseAppend}, false}, // from needs a COPY
	} {
		sc, err := r.scriptsFor(context.Background(), tc.ev)
		if err != nil {
			t.Fatal(err)
		}
		if got := len(sc) > 0; got != tc.want {
			t.Errorf("%+v: runs %v, want %v", tc.ev, got, tc.want)
		}
		if !tc.want && tc.ev.From == "" && r.Wants(tc.ev.Mailbox, tc.ev.Cause) {
			t.Errorf("%+v: Wants says yes", tc.ev)
		}
	}
	if r.Wants("Archive", imap.CauseCopy) {
		t.Error("Wants an unwatched mailbox")
	}
}

// The personal script runs between before and after, is seen again after an edit, and a
// user without one runs only the global scripts.
func TestPersonalScript(t *testing.T) {
	t.Parallel()
	st := testStore(t)
	ctx := context.Background()
	r := newRunner(t, st, []config.IMAPSieveRule{{Mailbox: "Junk", Personal: "learn"}}, nil)
	ev := imap.SieveEvent{User: alice, Mailbox: "Junk", Cause: imap.CauseCopy}
	if sc, _ := r.scriptsFor(ctx, ev); len(sc) != 0 {
		t.Fatalf("no personal script yet, %d run", len(sc))
	}
	if err := st.PutScript(ctx, alice, "learn", `require "imapsieve"; keep;`); err != nil {
		t.Fatal(err)
	}
	if sc, err := r.scriptsFor(ctx, ev); err != nil || len(sc) != 1 {
		t.Fatalf("personal script: %d, %v", len(sc), err)
	}
	if err := st.PutScript(ctx, alice, "learn", `require "imapsieve"; this is not sieve`); err != nil {
		// The store keeps what it is given; compiling is the runner's job.
		t.Fatalf("store refused the broken script: %v", err)
	}
	if _, err := r.scriptsFor(ctx, ev); err == nil {
		t.Error("an edited, broken personal script still ran the old one")
	}
}

func run(t *testing.T, r *Runner, src string, ev imap.SieveEvent, flags []string) decision {
	t.Helper()
	sc, err := sieve.Compile("t", []byte(src), sieve.CompileOptions{IMAP: true})
	if err != nil {
		t.Fatal(err)
	}
	msg := sieve.NewRawMessage([]byte("From: a@example.org\r\nSubject: hi\r\n\r\nbody\r\n"))
	d, err := r.decide(context.Background(), []*sieve.Script{sc}, msg, sieve.Envelope{User: alice},
		r.execOptions(ev, flags), ev, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func TestDecide(t *testing.T) {
	t.Parallel()
	st := testStore(t)
	r := newRunner(t, st, nil, nil)
	ev := imap.SieveEvent{User: alice, Mailbox: "Junk", Cause: imap.CauseFlag, ChangedFlags: []string{`\Seen`}}
	// Implicit keep: the message stays, the flags are the script's.
	d := run(t, r, `require ["imap4flags", "environment", "imapsieve"];
if environment :is "imap.changedflags" "\\Seen" { addflag "Read"; }`, ev, []string{`\Seen`})
	if d.outcome.Remove || !slices.Equal(d.outcome.Flags, []string{`\Seen`, "Read"}) {
		t.Errorf("keep: %+v", d.outcome)
	}
	// discard removes; fileinto alone moves (a copy elsewhere, removed here).
	if d := run(t, r, `discard;`, ev, nil); !d.outcome.Remove {
		t.Errorf("discard: %+v", d.outcome)
	}
	d = run(t, r, `require "fileinto"; fileinto "Archive";`, ev, nil)
	if !d.outcome.Remove || len(d.outcome.FileInto) != 1 || d.outcome.FileInto[0].Mailbox != "Archive" {
		t.Errorf("fileinto: %+v", d.outcome)
	}
	// fileinto :specialuse finds the \Junk mailbox whatever the name; into where it is is a keep.
	d = run(t, r, `require ["fileinto", "special-use"]; fileinto :specialuse "\\Junk" "Spam";`, ev, nil)
	if d.outcome.Remove || len(d.outcome.FileInto) != 0 {
		t.Errorf("fileinto the mailbox it is in: %+v", d.outcome)
	}
	// vacation means nothing on an IMAP event: ignored, the message stays.
	d = run(t, r, `require "vacation"; vacation "away";`, ev, nil)
	if d.outcome.Remove || len(d.redirects) != 0 || len(d.notifies) != 0 {
		t.Errorf("vacation: %+v", d)
	}
	d = run(t, r, `redirect "bob@example.org";`, ev, nil)
	if !d.outcome.Remove || !slices.Equal(d.redirects, []string{"bob@example.org"}) {
		t.Errorf("redirect: %+v", d)
	}
}

// fakeMailboxes stands in for the IMAP server: one message, its outcome recorded.
type fakeMailboxes struct {
	path string
	mu   sync.Mutex
	got  []imap.SieveOutcome
}

func (f *fakeMailboxes) SieveMessage(context.Context, string, string, uint32) (string, []string, error) {
	return f.path, nil, nil
}

func (f *fakeMailboxes) ApplySieve(_ context.Context, _, _ string, _ uint32, o imap.SieveOutcome) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.got = append(f.got, o)
	return nil
}

// fakeSender records what it sent; a message with X-Spam: Yes is held, as delivery's
// held-mail rule has it.
type fakeSender struct{ sent [][]string }

func (f *fakeSender) SendFromSieve(_ context.Context, user string, msg smtp.Message, to []string, _ []sieve.Notify) error {
	if why := f.HeldFromSieve(user, msg); why != "" {
		return errors.New("held: " + why)
	}
	f.sent = append(f.sent, to)
	return nil
}

func (f *fakeSender) HeldFromSieve(_ string, msg smtp.Message) string {
	rc, err := msg.Open()
	if err != nil {
		return err.Error()
	}
	defer rc.Close()
	b, _ := io.ReadAll(rc)
	if strings.Contains(string(b), "X-Spam: Yes") {
		return "scored as spam"
	}
	return ""
}

// budget allows n messages, then refuses, as limits.Rates over the rate.
type budget struct{ n int }

func (b *budget) Message(*smtp.Session) error {
	if b.n <= 0 {
		return errors.New("450 too much mail")
	}
	b.n--
	return nil
}
func (b *budget) Recipient(*smtp.Session) error { return nil }

// A redirect on an IMAP event counts against the user's outbound rate: over it nothing is
// sent and the message stays where it is (no removal).
func TestRedirectCountsAgainstTheUsersRate(t *testing.T) {
	t.Parallel()
	st := testStore(t)
	msg := filepath.Join(t.TempDir(), "m")
	if err := os.WriteFile(msg, []byte("From: a@example.org\r\nSubject: hi\r\n\r\nbody\r\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	r := newRunner(t, st, []config.IMAPSieveRule{{Mailbox: "INBOX", Causes: []string{"FLAG"}, Before: scriptFile(t, `redirect "victim@elsewhere.example";`)}}, &budget{n: 2})
	mb, out := &fakeMailboxes{path: msg}, &fakeSender{}
	for i := range 5 {
		r.handle(context.Background(), mb, out, imap.SieveEvent{User: alice, Mailbox: "INBOX", Cause: imap.CauseFlag, UID: uint32(i + 1)})
	}
	if len(out.sent) != 2 {
		t.Errorf("%d redirects sent, want 2 (the rate)", len(out.sent))
	}
	removed := 0
	for _, o := range mb.got {
		if o.Remove {
			removed++
		}
	}
	if removed != 2 || len(mb.got) != 5 {
		t.Errorf("%d of %d messages removed, want 2 of 5 (the ones redirected)", removed, len(mb.got))
	}
}

// Redirects of held messages (spam) send nothing and so take no slot of the user's rate:
// after many of them, the user's next redirect of a clean message still goes out.
func TestHeldRedirectsLeaveTheRate(t *testing.T) {
	t.Parallel()
	st := testStore(t)
	dir := t.TempDir()
	spam, clean := filepath.Join(dir, "spam"), filepath.Join(dir, "clean")
	for p, m := range map[string]string{spam: "X-Spam: Yes\r\nFrom: a@example.org\r\n\r\nbuy\r\n", clean: "From: a@example.org\r\n\r\nhi\r\n"} {
		if err := os.WriteFile(p, []byte(m), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	r := newRunner(t, st, []config.IMAPSieveRule{{Mailbox: "INBOX", Causes: []string{"FLAG"}, Before: scriptFile(t, `redirect "victim@elsewhere.example";`)}}, &budget{n: 2})
	out := &fakeSender{}
	held := &fakeMailboxes{path: spam}
	for i := range 10 {
		r.handle(context.Background(), held, out, imap.SieveEvent{User: alice, Mailbox: "INBOX", Cause: imap.CauseFlag, UID: uint32(i + 1)})
	}
	for _, o := range held.got {
		if o.Remove {
			t.Fatal("a held message was removed")
		}
	}
	ok := &fakeMailboxes{path: clean}
	for i := range 2 {
		r.handle(context.Background(), ok, out, imap.SieveEvent{User: alice, Mailbox: "INBOX", Cause: imap.CauseFlag, UID: uint32(100 + i)})
	}
	if len(out.sent) != 2 {
		t.Errorf("%d clean redirects sent after 10 held ones, want 2 (the whole rate)", len(out.sent))
	}
}

// The queue is bounded in total and per user; a FLAG event merges into the one waiting
// for the same message.
func TestQueueBounds(t *testing.T) {
	t.Parallel()
	q := newQueue(64) // 16 per user
	flag := func(user string, uid uint32, f string) dropReason {
		return q.put(imap.SieveEvent{User: user, Mailbox: "INBOX", Cause: imap.CauseFlag, UID: uid, ChangedFlags: []string{f}})
	}
	for i := range 1000 {
		why := flag(alice, 1, fmt.Sprint("k", i%3))
		if want := map[bool]dropReason{true: queued, false: merged}[i == 0]; why != want {
			t.Fatalf("event %d: %q, want %q", i, why, want)
		}
	}
	if len(q.ready) != 1 {
		t.Fatalf("%d waiting after 1000 STOREs of one message, want 1", len(q.ready))
	}
	ev := q.done(<-q.ready)
	if got := strings.Join(ev.ChangedFlags, " "); got != "k0 k1 k2" {
		t.Errorf("merged flags %q", got)
	}
	for i := range 100 {
		why := flag(alice, uint32(i+1), `\Seen`)
		if (i < 16) != (why == queued) || i >= 16 && why != userIsFull {
			t.Fatalf("alice's event %d: %q", i, why)
		}
	}
	for u := range 10 {
		for i := range 16 {
			flag(fmt.Sprintf("u%d@example.test", u), uint32(i+1), `\Seen`)
		}
	}
	if len(q.ready) != cap(q.ready) {
		t.Fatalf("queue holds %d of %d", len(q.ready), cap(q.ready))
	}
	if why := flag("late@example.test", 1, `\Seen`); why != queueFull {
		t.Errorf("a full queue: %q", why)
	}
	for len(q.ready) > 0 {
		q.done(<-q.ready)
	}
	if len(q.perUser) != 0 || len(q.flags) != 0 {
		t.Errorf("books not empty after draining: %d users, %d flag events", len(q.perUser), len(q.flags))
	}
}

// dropped counts the recorded drops for reason.
func dropped(rec *eventtest.Recorder, reason string) int {
	n := 0
	for _, e := range rec.All() {
		if d, ok := e.(event.IMAPSieveDropped); ok && d.Reason == reason {
			n++
		}
	}
	return n
}

// Every event that will not run is counted: over the user's share, over the whole queue,
// and what is still waiting when Run ends (the daemon stops).
func TestDropsAreCounted(t *testing.T) {
	t.Parallel()
	sink := &eventtest.Recorder{}
	r, err := New(Options{Rules: []config.IMAPSieveRule{{Mailbox: "INBOX", Causes: []string{"APPEND"}, Before: scriptFile(t, "keep;")}},
		Store: testStore(t), Logger: slog.New(slog.DiscardHandler), QueueSize: 128, Events: sink}) // 16 per user
	if err != nil {
		t.Fatal(err)
	}
	ev := func(user string, uid int) imap.SieveEvent {
		return imap.SieveEvent{User: user, Mailbox: "INBOX", Cause: imap.CauseAppend, UID: uint32(uid)}
	}
	for i := range 20 {
		r.Event(ev(alice, i+1))
	}
	for u := range 8 {
		for i := range 16 {
			r.Event(ev(fmt.Sprintf("u%d@example.test", u), i+1))
		}
	}
	if got := dropped(sink, "user_share_full"); got != 4 {
		t.Errorf("user_share_full: %d, want 4", got)
	}
	if got := dropped(sink, "queue_full"); got != 16+8*16-128 {
		t.Errorf("queue_full: %d, want %d", got, 16+8*16-128)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	r.Run(ctx, &fakeMailboxes{}, &fakeSender{})
	if got := dropped(sink, "shutdown"); got != 128 {
		t.Errorf("shutdown: %d, want 128 (the queue was full)", got)
	}
	if len(r.queue.perUser) != 0 {
		t.Errorf("books not empty after shutdown: %v", r.queue.perUser)
	}
}
