package localsubmit_test

import (
	"bytes"
	"context"
	"io"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/postern/postern/localsubmit"
	"github.com/postern/postern/server/deliver"
	"github.com/postern/postern/server/deliver/delivertest"
	"github.com/postern/postern/smtp"
	"github.com/postern/postern/smtp/queue"
	"github.com/postern/postern/store/maildir"
)

// parkedTransport never delivers: queued mail stays queued for the assertions.
type parkedTransport struct{}

func (parkedTransport) Send(_ context.Context, _ *queue.Message, rcpts []string) []queue.Result {
	out := make([]queue.Result, len(rcpts))
	for i, r := range rcpts {
		out[i] = queue.Result{Rcpt: r, Temporary: true, Text: "parked"}
	}
	return out
}

type submitFixture struct {
	ls     *localsubmit.Server
	pickup string
	agent  *deliver.Agent
	q      *queue.Queue
	mail   string
	socket string
}

// newSubmitFixture is a local submission service over a real store, Maildir and queue,
// serving a real unix socket.
func newSubmitFixture(t *testing.T) *submitFixture {
	t.Helper()
	dir := t.TempDir()
	q, err := queue.Open(filepath.Join(dir, "queue"), queue.Options{Transport: parkedTransport{}, Logger: delivertest.DiscardLog()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { q.Close() })
	a, mail := testAgent(t, queueOut{q})
	f := &submitFixture{agent: a, q: q, mail: mail, pickup: filepath.Join(dir, "pickup")}
	f.ls = f.server(t, a, 0)
	return f
}

// server is a local submission server delivering through d, with retries given up after
// lifetime.
func (f *submitFixture) server(t *testing.T, d localsubmit.Deliverer, lifetime time.Duration) *localsubmit.Server {
	t.Helper()
	return f.serverWith(t, func(o *localsubmit.Options) { o.Deliverer, o.Lifetime = d, lifetime })
}

// serverWith is the fixture's server with the options edit changes.
func (f *submitFixture) serverWith(t *testing.T, edit func(*localsubmit.Options)) *localsubmit.Server {
	t.Helper()
	o := localsubmit.Options{Deliverer: f.agent, Queue: f.q, Hostname: "mail.example.test", MaxSize: 1 << 20, MaxRcpts: 10,
		PickupDir: f.pickup, MaildropDir: filepath.Join(filepath.Dir(f.pickup), "maildrop"), SpoolDir: filepath.Dir(f.pickup), Logger: delivertest.DiscardLog(),
		UserName: func(uid uint32) string { return "cron" }}
	edit(&o)
	ls, err := localsubmit.New(o)
	if err != nil {
		t.Fatal(err)
	}
	return ls
}

// serve starts the socket service; the socket lives in a short temp dir (sun_path is
// 108 bytes).
func (f *submitFixture) serve(t *testing.T) {
	t.Helper()
	sockDir, err := os.MkdirTemp("", "ls")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(sockDir) })
	f.socket = filepath.Join(sockDir, "submit.sock")
	ln, err := net.Listen("unix", f.socket)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { f.ls.Serve(ln); close(done) }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		f.ls.Shutdown(ctx)
		<-done
	})
}

func readInbox(t *testing.T, mail, user string) []string {
	t.Helper()
	var out []string
	for _, p := range delivertest.InboxFiles(t, mail, user) {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, string(b))
	}
	return out
}

func TestLocalSubmitDeliversAndQueues(t *testing.T) {
	t.Parallel()
	f := newSubmitFixture(t)
	f.serve(t)
	msg := "To: alice@example.test, friend@example.org\nBcc: bob\nSubject: cron job\n\nall done\n"
	name := "Cron Daemon"
	rep, err := localsubmit.Submit(context.Background(), f.socket, &localsubmit.Request{FullName: name, ExtractRecipients: true,
		Rcpts: []string{"carol@example.test"}}, []byte(msg))
	if err != nil {
		t.Fatal(err)
	}
	if rep.Error != "" || len(rep.Failed) > 0 || len(rep.Deferred) > 0 {
		t.Fatalf("reply %+v", rep)
	}
	// bob@mail.example.test is remote (mail.example.test is not a local domain): queued.
	want := []string{"carol@example.test", "alice@example.test", "friend@example.org", "bob@mail.example.test"}
	if !slices.Equal(rep.Accepted, want) {
		t.Fatalf("accepted %v, want %v", rep.Accepted, want)
	}
	got := readInbox(t, f.mail, "alice")
	if len(got) != 1 {
		t.Fatalf("alice has %d messages", len(got))
	}
	m := got[0]
	uid := os.Getuid()
	for _, w := range []string{
		"Received: by mail.example.test (Postern, from userid " + itoaU(uid) + ")\r\n\tid " + rep.ID,
		"\r\nFrom: \"Cron Daemon\" <cron@mail.example.test>\r\n", "\r\nDate: ", "\r\nMessage-ID: <",
		"\r\nSubject: cron job\r\n", "\r\n\r\nall done\r\n",
	} {
		if !strings.Contains(m, w) {
			t.Errorf("delivered message lacks %q:\n%s", w, m)
		}
	}
	if strings.Contains(m, "Bcc") || strings.Contains(m, "bob") {
		t.Errorf("Bcc visible to recipients:\n%s", m)
	}
	if len(readInbox(t, f.mail, "carol")) != 1 {
		t.Errorf("carol (command line) got nothing")
	}
	list := f.q.List()
	if len(list) != 1 {
		t.Fatalf("queue has %d messages, want 1", len(list))
	}
	var qr []string
	for _, r := range list[0].Rcpts {
		qr = append(qr, r.Addr)
	}
	if list[0].From != "cron@mail.example.test" || !slices.Equal(qr, []string{"friend@example.org", "bob@mail.example.test"}) {
		t.Errorf("queued from %s to %v", list[0].From, qr)
	}
}

func itoaU(n int) string { return strconv.Itoa(n) }

func TestLocalSubmitRefusals(t *testing.T) {
	t.Parallel()
	f := newSubmitFixture(t)
	f.serve(t)
	ctx := context.Background()
	sender := "ops@example.test"
	rep, err := localsubmit.Submit(ctx, f.socket, &localsubmit.Request{Sender: &sender, Rcpts: []string{"nobody@example.test", "alice@example.test"}},
		[]byte("Subject: x\n\nbody\n"))
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Failed) != 1 || rep.Failed[0].Rcpt != "nobody@example.test" || !strings.Contains(rep.Failed[0].Reason, "User unknown") {
		t.Errorf("unknown user: %+v", rep)
	}
	if !slices.Equal(rep.Accepted, []string{"alice@example.test"}) {
		t.Errorf("accepted %v", rep.Accepted)
	}
	if m := readInbox(t, f.mail, "alice"); len(m) != 1 || !strings.Contains(m[0], "From: <ops@example.test>\r\n") {
		t.Errorf("-f sender not used for From: %q", m)
	}

	rep, err = localsubmit.Submit(ctx, f.socket, &localsubmit.Request{}, []byte("Subject: x\n\nbody\n"))
	if err != nil || !strings.Contains(rep.Error, "no recipients") || rep.Temporary {
		t.Errorf("no recipients: %+v %v", rep, err)
	}
	big := bytes.Repeat([]byte("x"), 2<<20)
	rep, err = localsubmit.Submit(ctx, f.socket, &localsubmit.Request{Rcpts: []string{"alice@example.test"}}, big)
	if err != nil || !strings.Contains(rep.Error, "larger than the limit") {
		t.Errorf("too big: %+v %v", rep, err)
	}
	// A client cannot claim to be the daemon's own retry file.
	uid := uint32(0)
	rep, err = localsubmit.Submit(ctx, f.socket, &localsubmit.Request{Rcpts: []string{"alice@example.test"}, Prepared: true, UID: &uid}, []byte("x\n"))
	if err != nil || rep.Error == "" {
		t.Errorf("prepared over the socket: %+v %v", rep, err)
	}
}

func pickupFiles(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range entries {
		out = append(out, e.Name())
	}
	return out
}

func TestPickupDeliveredOnceAndRemoved(t *testing.T) {
	t.Parallel()
	f := newSubmitFixture(t)
	msg := []byte("To: alice@example.test\nSubject: while down\n\nqueued by sendmail\n")
	if _, err := localsubmit.WritePickup(f.pickup, &localsubmit.Request{ExtractRecipients: true, Size: int64(len(msg))}, bytes.NewReader(msg)); err != nil {
		t.Fatal(err)
	}
	// A half-written temporary is not touched (it is young), a broken file set aside.
	if err := os.WriteFile(filepath.Join(f.pickup, ".tmp-123"), []byte("{partial"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(f.pickup, "0000-broken"), []byte("not json\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	f.ls.ScanPickup(ctx)
	got := readInbox(t, f.mail, "alice")
	if len(got) != 1 || !strings.Contains(got[0], "queued by sendmail") || !strings.Contains(got[0], "from userid "+itoaU(os.Getuid())) {
		t.Fatalf("alice got %q", got)
	}
	if files := pickupFiles(t, f.pickup); !slices.Equal(files, []string{".tmp-123", "0000-broken.bad"}) {
		t.Errorf("pickup left %v", files)
	}
	f.ls.ScanPickup(ctx)
	if n := len(readInbox(t, f.mail, "alice")); n != 1 {
		t.Errorf("second scan delivered again: %d messages", n)
	}
}

// tempFailAgent fails every recipient temporarily, then delivers through the real agent.
type tempFailAgent struct {
	fail bool
	real *deliver.Agent
}

func (a *tempFailAgent) Deliver(ctx context.Context, env *smtp.Envelope, msg smtp.Message) []error {
	if !a.fail {
		return a.real.Deliver(ctx, env, msg)
	}
	errs := make([]error, len(env.Recipients))
	for i := range errs {
		errs[i] = smtp.Reply(451, [3]int{4, 3, 0}, "Error: local delivery failed, try again later")
	}
	return errs
}

func (a *tempFailAgent) Bounce(ctx context.Context, id, sender string, arrival time.Time, failed []queue.RcptInfo, msg smtp.Message) error {
	return a.real.Bounce(ctx, id, sender, arrival, failed, msg)
}

// TestPickupRefusalBounced: sendmail has exited when a pickup file is delivered, so a
// recipient refused for good is bounced to the sender (a DSN in her Maildir), while
// the other recipient gets the message; with the null sender nothing is bounced.
func TestPickupRefusalBounced(t *testing.T) {
	t.Parallel()
	f := newSubmitFixture(t)
	alice, null := "alice@example.test", ""
	for _, c := range []struct {
		sender *string
		subj   string
	}{{&alice, "nightly backup"}, {&null, "from nobody"}} {
		msg := []byte("Subject: " + c.subj + "\n\nbackup done\n")
		req := &localsubmit.Request{Sender: c.sender, Rcpts: []string{"bob@example.test", "nobody@example.test", "broken@"}, Size: int64(len(msg))}
		if _, err := localsubmit.WritePickup(f.pickup, req, bytes.NewReader(msg)); err != nil {
			t.Fatal(err)
		}
	}
	ctx := context.Background()
	f.ls.ScanPickup(ctx)
	if got := readInbox(t, f.mail, "bob"); len(got) != 2 {
		t.Fatalf("bob got %d messages, want 2", len(got))
	}
	got := readInbox(t, f.mail, "alice")
	if len(got) != 1 {
		t.Fatalf("alice got %d messages, want one bounce: %q", len(got), got)
	}
	dsn := got[0]
	for _, want := range []string{"multipart/report", "Final-Recipient: rfc822; nobody@example.test", "Status: 5.1.1",
		"Final-Recipient: rfc822; broken@", "Status: 5.1.3", "Subject: nightly backup", "MAILER-DAEMON@mail.example.test"} {
		if !strings.Contains(dsn, want) {
			t.Errorf("the bounce lacks %q:\n%s", want, dsn)
		}
	}
	if strings.Contains(dsn, "bob@example.test") && strings.Contains(dsn, "Final-Recipient: rfc822; bob@") {
		t.Errorf("the bounce names the delivered recipient:\n%s", dsn)
	}
	if files := pickupFiles(t, f.pickup); len(files) != 0 {
		t.Errorf("pickup left %v", files)
	}
}

// TestPickupRetryGivesUp: a deferred recipient is retried from pickup until [queue]
// lifetime has passed since the message came; then it is bounced (4.4.7) and the file
// removed.
func TestPickupRetryGivesUp(t *testing.T) {
	t.Parallel()
	f := newSubmitFixture(t)
	f.ls = f.server(t, &tempFailAgent{fail: true, real: f.agent}, time.Hour)
	sender, uid := "alice@example.test", uint32(os.Getuid())
	msg := []byte("From: alice@example.test\r\nSubject: stuck\r\n\r\nbody\r\n")
	write := func(arrival time.Time) {
		req := &localsubmit.Request{Sender: &sender, Rcpts: []string{"bob@example.test"}, Size: int64(len(msg)),
			Prepared: true, UID: &uid, Arrival: arrival.Unix()}
		if _, err := localsubmit.WritePickup(f.pickup, req, bytes.NewReader(msg)); err != nil {
			t.Fatal(err)
		}
	}
	ctx := context.Background()
	// Young: kept for another retry, with its first arrival time.
	first := time.Now().Add(-30 * time.Minute)
	write(first)
	f.ls.ScanPickup(ctx)
	files := pickupFiles(t, f.pickup)
	if len(files) != 1 {
		t.Fatalf("pickup has %v after a young retry", files)
	}
	data, _ := os.ReadFile(filepath.Join(f.pickup, files[0]))
	if want := `"arrival":` + strconv.FormatInt(first.Unix(), 10); !strings.Contains(string(data), want) {
		t.Fatalf("the new retry file lost the arrival time (%s): %q", want, data)
	}
	if got := readInbox(t, f.mail, "alice"); len(got) != 0 {
		t.Fatalf("alice got %d messages before the lifetime passed", len(got))
	}
	// Old: one last try, then a bounce.
	if err := os.Remove(filepath.Join(f.pickup, files[0])); err != nil {
		t.Fatal(err)
	}
	write(time.Now().Add(-2 * time.Hour))
	f.ls.ScanPickup(ctx)
	if files := pickupFiles(t, f.pickup); len(files) != 0 {
		t.Errorf("pickup left %v after the lifetime", files)
	}
	got := readInbox(t, f.mail, "alice")
	if len(got) != 1 || !strings.Contains(got[0], "Status: 4.4.7") || !strings.Contains(got[0], "queue.lifetime") ||
		!strings.Contains(got[0], "Final-Recipient: rfc822; bob@example.test") {
		t.Fatalf("alice should have one expiry bounce for bob, got %q", got)
	}
	if got := readInbox(t, f.mail, "bob"); len(got) != 0 {
		t.Errorf("bob got %d messages", len(got))
	}
}

func TestLocalSubmitTemporaryFailureKeptInPickup(t *testing.T) {
	t.Parallel()
	f := newSubmitFixture(t)
	flaky := &tempFailAgent{fail: true, real: f.agent}
	f.ls = f.server(t, flaky, 0)
	f.serve(t)
	rep, err := localsubmit.Submit(context.Background(), f.socket, &localsubmit.Request{Rcpts: []string{"alice@example.test"}},
		[]byte("Subject: retry me\n\nbody\n"))
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Deferred) != 1 || len(rep.Failed) != 0 || len(rep.Accepted) != 0 {
		t.Fatalf("reply %+v", rep)
	}
	files := pickupFiles(t, f.pickup)
	if len(files) != 1 {
		t.Fatalf("pickup has %v", files)
	}
	data, _ := os.ReadFile(filepath.Join(f.pickup, files[0]))
	if !strings.Contains(string(data), `"prepared":true`) {
		t.Errorf("retry file not marked prepared: %q", data)
	}
	flaky.fail = false
	ctx := context.Background()
	f.ls.ScanPickup(ctx)
	got := readInbox(t, f.mail, "alice")
	if len(got) != 1 {
		t.Fatalf("alice has %d messages after the retry", len(got))
	}
	// The retry does not fix the header a second time.
	if n := strings.Count(got[0], "(Postern, from userid"); n != 1 {
		t.Errorf("%d trace lines:\n%s", n, got[0])
	}
	if files := pickupFiles(t, f.pickup); len(files) != 0 {
		t.Errorf("pickup left %v", files)
	}
}

// queueOut enqueues straight into a queue, as outbound.Outbound does.
type queueOut struct{ q *queue.Queue }

func (o queueOut) Enqueue(ctx context.Context, env queue.Envelope, body io.Reader) (string, error) {
	return o.q.Enqueue(ctx, env, body)
}

// testAgent is the real delivery agent over delivertest.Store (the domain example.test,
// the users alice, bob and carol); remote copies go to out.
func testAgent(t *testing.T, out deliver.Enqueuer) (*deliver.Agent, string) {
	t.Helper()
	st, dir := delivertest.Store(t)
	mail := filepath.Join(dir, "mail")
	a, err := deliver.New(deliver.Options{Store: st, Directory: deliver.NewDirectory(st, time.Now),
		Namer: maildir.NewNamer("mail.example.test", time.Now), MailRoot: mail, StateDir: dir,
		Hostname: "mail.example.test", Delimiter: "+", Out: out, Logger: delivertest.DiscardLog()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.Close() })
	return a, mail
}
