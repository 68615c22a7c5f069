package localsubmit_test

import (
	"bytes"
	"context"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/postern/postern/localsubmit"
	"github.com/postern/postern/server/deliver"
	"github.com/postern/postern/server/deliver/delivertest"
)

// agentNames is localsubmit.Names over the real delivery agent, with an owner the test
// sets (package server's implementation has its own tests).
type agentNames struct {
	agent *deliver.Agent
	mu    sync.Mutex
	owner string
}

func (n *agentNames) Resolve(ctx context.Context, addr string) (localsubmit.Resolution, error) {
	local, found, err := n.agent.Lookup(ctx, addr)
	if err != nil {
		return 0, err
	}
	return localsubmit.Classify(local, found), nil
}

func (n *agentNames) PrimaryDomain(context.Context) (string, error) { return delivertest.Domain, nil }

func (n *agentNames) Owner(context.Context) (string, string, error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.owner, "set [alerts] to", nil
}

func (n *agentNames) setOwner(o string) {
	n.mu.Lock()
	n.owner = o
	n.mu.Unlock()
}

// namedFixture is the submit fixture with the rewrite of the machine's names; with
// serve, on the socket too (whose own pickup scans then run beside the test's: a test
// that scans itself does not serve).
func namedFixture(t *testing.T, serve bool) (*submitFixture, *agentNames) {
	t.Helper()
	f := newSubmitFixture(t)
	names := &agentNames{agent: f.agent}
	ls, err := localsubmit.New(localsubmit.Options{Deliverer: f.agent, Names: names, MachineNames: []string{"box"},
		Hostname: "mail.example.test", MaxSize: 1 << 20, MaxRcpts: 10, PickupDir: f.pickup,
		MaildropDir: filepath.Join(filepath.Dir(f.pickup), "maildrop"), SpoolDir: filepath.Dir(f.pickup),
		Logger: delivertest.DiscardLog(), UserName: func(uint32) string { return "nut" }})
	if err != nil {
		t.Fatal(err)
	}
	f.ls = ls
	if serve {
		f.serve(t)
	}
	return f, names
}

func TestMachineNamesReachTheOwner(t *testing.T) {
	t.Parallel()
	f, names := namedFixture(t, true)
	names.setOwner("bob@example.test")
	ctx := context.Background()
	for _, rcpt := range []string{"root", "nut@box", "ups@localhost", "alice"} {
		rep, err := localsubmit.Submit(ctx, f.socket, &localsubmit.Request{Rcpts: []string{rcpt}}, []byte("Subject: to "+rcpt+"\n\nUPS on battery\n"))
		if err != nil || rep.Error != "" || len(rep.Failed)+len(rep.Deferred) > 0 {
			t.Fatalf("sendmail %s: %+v %v", rcpt, rep, err)
		}
	}
	bob := strings.Join(readInbox(t, f.mail, "bob"), "\n--\n")
	for _, w := range []string{"Subject: to root\r\n", "for <root@mail.example.test>;", "for <nut@box>;", "for <ups@localhost>;",
		"Delivered-To: bob@example.test\r\n"} {
		if !strings.Contains(bob, w) {
			t.Errorf("the owner's mail lacks %q:\n%s", w, bob)
		}
	}
	if n := len(readInbox(t, f.mail, "bob")); n != 3 {
		t.Errorf("the owner has %d messages, want 3", n)
	}
	if a := readInbox(t, f.mail, "alice"); len(a) != 1 || !strings.Contains(a[0], "for <alice@mail.example.test>;") {
		t.Errorf("alice (a user of the first domain) got %q", a)
	}
	if n := len(f.q.List()); n != 0 {
		t.Errorf("%d messages for the machine's names went to the relay queue", n)
	}
}

func TestMachineNamesWaitForAnOwner(t *testing.T) {
	t.Parallel()
	f, _ := namedFixture(t, true)
	rep, err := localsubmit.Submit(context.Background(), f.socket, &localsubmit.Request{Rcpts: []string{"root", "alice"}},
		[]byte("Subject: smartd\n\ndisk failing\n"))
	if err != nil || rep.Error != "" {
		t.Fatalf("%+v %v", rep, err)
	}
	if !slices.Equal(rep.Accepted, []string{"alice@example.test"}) || len(rep.Deferred) != 1 ||
		rep.Deferred[0].Rcpt != "root@mail.example.test" || !strings.Contains(rep.Deferred[0].Reason, "set [alerts] to") {
		t.Fatalf("reply %+v, want alice accepted and root deferred with what to configure", rep)
	}
	if n := len(readInbox(t, f.mail, "alice")); n != 1 {
		t.Errorf("alice has %d copies, want 1", n)
	}
}

// TestMachineNamesWaitInPickup: a message the daemon found in pickup (sendmail wrote it
// while the daemon was down) for a name of the machine, with no owner yet, waits for
// one in pickup: retried, never bounced, delivered once there is an owner.
func TestMachineNamesWaitInPickup(t *testing.T) {
	t.Parallel()
	f, names := namedFixture(t, false)
	ctx := context.Background()
	msg := []byte("Subject: smartd\n\ndisk failing\n")
	if _, err := localsubmit.WritePickup(f.pickup, &localsubmit.Request{Rcpts: []string{"root", "alice"}, Size: int64(len(msg))},
		bytes.NewReader(msg)); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		f.ls.ScanPickup(ctx)
		if files := pickupFiles(t, f.pickup); len(files) != 1 {
			t.Fatalf("pickup holds %v without an owner, want the retry for root", files)
		}
	}
	if n := len(readInbox(t, f.mail, "alice")); n != 1 {
		t.Fatalf("alice has %d copies, want 1", n)
	}
	names.setOwner("carol@example.test")
	f.ls.ScanPickup(ctx)
	c := readInbox(t, f.mail, "carol")
	if len(c) != 1 || !strings.Contains(c[0], "disk failing") || strings.Contains(c[0], "for <root@") {
		t.Fatalf("the owner got %q, want the message once, naming no recipient (there were two)", c)
	}
	if files := pickupFiles(t, f.pickup); len(files) != 0 {
		t.Errorf("pickup holds %v after delivery", files)
	}
	if n := len(readInbox(t, f.mail, "alice")); n != 1 {
		t.Errorf("alice has %d copies, want 1 (the retry is for root only)", n)
	}
	for _, u := range []string{"alice", "bob"} {
		for _, m := range readInbox(t, f.mail, u) {
			if strings.Contains(m, "Undelivered") {
				t.Errorf("%s got a bounce while root waited for an owner", u)
			}
		}
	}
}

func TestRecipientHeaderInjectionRefused(t *testing.T) {
	t.Parallel()
	f, names := namedFixture(t, true)
	names.setOwner("bob@example.test")
	ctx := context.Background()
	for _, rcpt := range []string{"root\r\nBcc: friend@example.org", "root\nX-Injected: yes", "nut@box\r\n\r\nbody"} {
		rep, err := localsubmit.Submit(ctx, f.socket, &localsubmit.Request{Rcpts: []string{rcpt}}, []byte("Subject: inject\n\nx\n"))
		if err != nil || len(rep.Accepted) != 0 || len(rep.Failed) != 1 {
			t.Errorf("recipient %q: %+v %v, want it refused", rcpt, rep, err)
		}
	}
	if n := len(f.q.List()); n != 0 {
		t.Errorf("%d messages queued", n)
	}
	for _, u := range delivertest.Users {
		for _, m := range readInbox(t, f.mail, u) {
			t.Errorf("%s got a message: %q", u, m)
		}
	}
}

func TestPickupBounceToAMachineNameReachesTheOwner(t *testing.T) {
	t.Parallel()
	f, names := namedFixture(t, false)
	names.setOwner("bob@example.test")
	// Written while the daemon was down, by a service whose sender is nut@HOSTNAME.
	msg := []byte("Subject: to a typo\n\nlost\n")
	if _, err := localsubmit.WritePickup(f.pickup, &localsubmit.Request{Rcpts: []string{"nobdy@example.test"}, Size: int64(len(msg))},
		bytes.NewReader(msg)); err != nil {
		t.Fatal(err)
	}
	f.ls.ScanPickup(context.Background())
	bob := readInbox(t, f.mail, "bob")
	if len(bob) != 1 || !strings.Contains(bob[0], "Final-Recipient: rfc822; nobdy@example.test") {
		t.Fatalf("the owner got %q, want the bounce for nut@mail.example.test", bob)
	}
	if n := len(f.q.List()); n != 0 {
		t.Errorf("the bounce to nut@mail.example.test went to the relay queue (%d queued)", n)
	}
}
