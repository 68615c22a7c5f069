package localsubmit_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/postern/postern/localsubmit"
	"github.com/postern/postern/smtp/queue"
)

// TestListOwnMessagesOnly: mailq over the socket (OpList) gives the caller the queue
// entries they submitted and their files still waiting, and nothing of anyone else's:
// not another uid's queue entry, nor an entry of unknown origin, nor another uid's retry.
func TestListOwnMessagesOnly(t *testing.T) {
	t.Parallel()
	f := newSubmitFixture(t)
	f.serve(t)
	me := uint32(os.Getuid())
	other := me + 4242
	ctx := context.Background()
	rep, err := localsubmit.Submit(ctx, f.socket, &localsubmit.Request{Rcpts: []string{"friend@example.org"}}, []byte("Subject: mine\n\nx\n"))
	if err != nil || len(rep.Accepted) != 1 {
		t.Fatalf("submit: %+v, %v", rep, err)
	}
	if _, err := f.q.Enqueue(ctx, queue.Envelope{From: "secret@example.test", Rcpts: []string{"theirs@example.org"}, UID: &other},
		strings.NewReader("Subject: theirs\r\n\r\nx\r\n")); err != nil {
		t.Fatal(err)
	}
	if _, err := f.q.Enqueue(ctx, queue.Envelope{From: "smtp@example.test", Rcpts: []string{"relayed@example.org"}},
		strings.NewReader("Subject: relayed\r\n\r\nx\r\n")); err != nil {
		t.Fatal(err)
	}
	sender := "other@example.test"
	body := []byte("Subject: retry\r\n\r\nx\r\n")
	if _, err := localsubmit.WritePickup(f.pickup, &localsubmit.Request{Sender: &sender, Rcpts: []string{"later@example.org"},
		Prepared: true, UID: &other, Size: int64(len(body))}, bytes.NewReader(body)); err != nil {
		t.Fatal(err)
	}

	got, err := localsubmit.List(ctx, f.socket)
	if err != nil || got.Error != "" {
		t.Fatalf("List: %+v, %v", got, err)
	}
	if len(got.Queue) != 1 || got.Queue[0].From != "cron@mail.example.test" || got.Queue[0].Rcpts[0].Addr != "friend@example.org" {
		t.Fatalf("own listing = %+v, want only the message to friend@example.org", got.Queue)
	}
	for _, in := range got.Queue {
		if in.UID == nil || *in.UID != me {
			t.Errorf("listed an entry of uid %v", in.UID)
		}
	}
	theirs := f.ls.ListFor(other)
	var to []string
	for _, in := range theirs.Queue {
		to = append(to, in.Rcpts[0].Addr)
	}
	slices.Sort(to)
	if strings.Join(to, ",") != "later@example.org,theirs@example.org" {
		t.Errorf("uid %d sees %v, want their queue entry and their retry: %+v", other, to, theirs.Queue)
	}
	if n := len(f.ls.ListFor(other + 1).Queue); n != 0 {
		t.Errorf("a uid with nothing sees %d entries", n)
	}
}

// TestListShowsOwnMaildrop: a message a user left in the maildrop (daemon down) is
// listed for them, with its sender and recipients, until the daemon picks it up.
func TestListShowsOwnMaildrop(t *testing.T) {
	t.Parallel()
	f := newSubmitFixture(t)
	body := []byte("Subject: while down\n\nx\n")
	if _, err := localsubmit.WriteMaildrop(filepath.Join(filepath.Dir(f.pickup), "maildrop"),
		&localsubmit.Request{Rcpts: []string{"alice@example.test"}, Size: int64(len(body))}, bytes.NewReader(body)); err != nil {
		t.Fatal(err)
	}
	me := uint32(os.Getuid())
	got := f.ls.ListFor(me).Queue
	if len(got) != 1 || !strings.HasPrefix(got[0].ID, "M") || got[0].From != "cron@mail.example.test" ||
		got[0].Rcpts[0].Addr != "alice@example.test" || got[0].Size != int64(len(body)) {
		t.Fatalf("own listing = %+v, want the maildrop file", got)
	}
	if n := len(f.ls.ListFor(me + 1).Queue); n != 0 {
		t.Errorf("another uid sees %d entries of the maildrop", n)
	}
	f.ls.ScanPickup(context.Background())
	if n := len(f.ls.ListFor(me).Queue); n != 0 {
		t.Errorf("after the pickup %d entries are still listed", n)
	}
}

// TestRequestOpsCarryNoMessage: a list or verify request with a message, or an op
// nobody knows, is refused (and never taken from the maildrop as a message).
func TestRequestOpsCarryNoMessage(t *testing.T) {
	t.Parallel()
	f := newSubmitFixture(t)
	f.serve(t)
	for _, op := range []string{localsubmit.OpList, localsubmit.OpVerify, "delete"} {
		rep, err := localsubmit.Submit(context.Background(), f.socket, &localsubmit.Request{Op: op, Rcpts: []string{"a@example.test"}}, []byte("x\n"))
		if err != nil || rep.Error == "" || len(rep.Queue) > 0 {
			t.Errorf("op %q with a message: %+v, %v; want refused", op, rep, err)
		}
	}
}

// TestListBounded: a user whose 300 waiting files each name 100 long addresses (about
// 30 KB a listing entry) gets the oldest that fit in one bounded reply and the count of
// the rest: mailq of such a user costs the daemon a few MiB, not all of it.
func TestListBounded(t *testing.T) {
	t.Parallel()
	f := newSubmitFixture(t)
	const uid, files = 4242, 300
	dir := filepath.Join(f.maildrop(), "4242")
	if err := os.Mkdir(dir, 0o770); err != nil {
		t.Fatal(err)
	}
	if err := os.Chown(dir, uid, -1); err != nil {
		t.Fatal(err)
	}
	var rcpts []string
	for i := range 100 {
		rcpts = append(rcpts, fmt.Sprintf("%s%03d@example.org", strings.Repeat("x", 230), i))
	}
	line, _ := json.Marshal(localsubmit.Request{V: 1, Rcpts: rcpts, Size: 3})
	for i := range files {
		p := filepath.Join(dir, fmt.Sprintf("%016x-%024x", 1000+i, i))
		if err := os.WriteFile(p, append(line, "\nx\n\n"...), 0o640); err != nil {
			t.Fatal(err)
		}
		if err := os.Chown(p, uid, -1); err != nil {
			t.Fatal(err)
		}
	}
	rep := f.ls.ListFor(uid)
	b, _ := json.Marshal(rep)
	if len(rep.Queue) == 0 || len(rep.Queue) == files || len(rep.Queue)+rep.More != files {
		t.Fatalf("listed %d and %d more of %d", len(rep.Queue), rep.More, files)
	}
	if len(b) > 5<<20 {
		t.Errorf("the reply is %d bytes", len(b))
	}
	if want := "M" + strings.ToUpper(fmt.Sprintf("%024x", 0)[:10]); rep.Queue[0].ID != want {
		t.Errorf("first listed %s, want the oldest %s", rep.Queue[0].ID, want)
	}
}
