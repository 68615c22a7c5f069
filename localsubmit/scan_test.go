package localsubmit_test

import (
	"bytes"
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/postern/postern/localsubmit"
)

// logBuffer is a slog handler's output, safe for the scan's goroutine.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

// count is how many log lines hold s.
func (b *logBuffer) count(s string) int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return strings.Count(b.buf.String(), s)
}

// TestRetryFileBackoff: a retry file is tried again only once it is due (the wait grows
// with how long the message has waited, to maxRetryDelay), so that mail waiting days for
// an owner is not tried and logged every 30 s; the scan at start tries it at once, and
// past [queue] lifetime it is due for its last try.
func TestRetryFileBackoff(t *testing.T) {
	t.Parallel()
	f := newSubmitFixture(t)
	var mu sync.Mutex
	now := time.Now()
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	advance := func(d time.Duration) { mu.Lock(); now = now.Add(d); mu.Unlock() }
	logs := &logBuffer{}
	f.ls = f.serverWith(t, func(o *localsubmit.Options) {
		o.Deliverer, o.Lifetime, o.Now = &tempFailAgent{fail: true, real: f.agent}, 48*time.Hour, clock
		o.Logger = slog.New(slog.NewTextHandler(logs, nil))
	})
	sender, uid := "alice@example.test", uint32(os.Getuid())
	msg := []byte("Subject: waits\r\n\r\nbody\r\n")
	// It has waited an hour when this try failed: the next one is maxRetryDelay later.
	req := &localsubmit.Request{Sender: &sender, Rcpts: []string{"bob@example.test"}, Size: int64(len(msg)),
		Prepared: true, UID: &uid, Arrival: now.Add(-time.Hour).Unix()}
	if _, err := localsubmit.WritePickup(f.pickup, req, bytes.NewReader(msg)); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	before := pickupFiles(t, f.pickup)
	for range 10 { // five minutes of periodic scans
		advance(30 * time.Second)
		f.ls.ScanDue(ctx)
	}
	if after := pickupFiles(t, f.pickup); len(after) != 1 || after[0] != before[0] {
		t.Fatalf("a retry file not due was tried: %v -> %v", before, after)
	}
	if n := logs.count("local submission deferred"); n != 0 {
		t.Errorf("%d tries logged before it was due", n)
	}
	advance(26 * time.Minute)
	f.ls.ScanDue(ctx)
	after := pickupFiles(t, f.pickup)
	if len(after) != 1 || after[0] == before[0] || logs.count("local submission deferred") != 1 {
		t.Fatalf("when due it was not tried once: %v -> %v, %d tries logged", before, after, logs.count("local submission deferred"))
	}
	// The scan at start tries it even though it is not due.
	f.ls.ScanPickup(ctx)
	if n := logs.count("local submission deferred"); n != 2 {
		t.Errorf("the scan at start: %d tries, want 2", n)
	}
	// Past the lifetime it is due at once, and bounced.
	advance(48 * time.Hour)
	f.ls.ScanDue(ctx)
	if files := pickupFiles(t, f.pickup); len(files) != 0 {
		t.Errorf("past the lifetime pickup still holds %v", files)
	}
	if got := readInbox(t, f.mail, "alice"); len(got) != 1 || !strings.Contains(got[0], "Status: 4.4.7") {
		t.Errorf("alice should have the expiry bounce: %d messages", len(got))
	}
}

// TestMaildropFloodBounded: a user who leaves many files in the maildrop gets her rate's
// worth delivered per minute, the rest wait unopened with one log line for them all, and
// another user's file in the same scan is delivered.
func TestMaildropFloodBounded(t *testing.T) {
	t.Parallel()
	f := newSubmitFixture(t)
	logs := &logBuffer{}
	f.ls = f.serverWith(t, func(o *localsubmit.Options) {
		o.PerUIDPerMinute = 3
		o.Logger = slog.New(slog.NewTextHandler(logs, nil))
	})
	const flooder, victim = 4242, 4343
	mkUserDir := func(uid int) string {
		dir := filepath.Join(f.maildrop(), strconv.Itoa(uid))
		if err := os.Mkdir(dir, 0o770); err != nil {
			t.Fatal(err)
		}
		os.Chmod(dir, os.ModeSetgid|0o770)
		if err := os.Chown(dir, uid, -1); err != nil {
			t.Fatal(err)
		}
		return dir
	}
	fdir, vdir := mkUserDir(flooder), mkUserDir(victim)
	const n = 1200 // more than one batch of the directory's entries
	body := "Subject: flood\n\nx\n"
	line := `{"v":1,"rcpts":["bob@example.test"],"size":` + strconv.Itoa(len(body)) + "}\n"
	for i := range n {
		p := filepath.Join(fdir, strconv.Itoa(1000000+i))
		if err := os.WriteFile(p, []byte(line+body), 0o640); err != nil {
			t.Fatal(err)
		}
		if err := os.Chown(p, flooder, -1); err != nil {
			t.Fatal(err)
		}
	}
	vfile := writeDropIn(t, vdir, "from the victim")
	if err := os.Chown(vfile, victim, -1); err != nil {
		t.Fatal(err)
	}
	for range 3 {
		f.ls.ScanDue(context.Background())
	}
	if got := readInbox(t, f.mail, "bob"); len(got) != 3 {
		t.Errorf("bob got %d of the flood in one minute, want the rate's 3", len(got))
	}
	if got := readInbox(t, f.mail, "alice"); len(got) != 1 {
		t.Errorf("the victim's message: alice has %d, want 1", len(got))
	}
	if left := len(pickupFiles(t, fdir)); left != n-3 {
		t.Errorf("%d of the flood wait, want %d (none lost)", left, n-3)
	}
	if c := logs.count("over its rate"); c != 1 {
		t.Errorf("%d log lines about the flood in three scans, want 1\n", c)
	}
}

// TestSetAsideNeverReplaces: a user who made NAME.bad first (a full directory, a file)
// neither makes setting NAME aside fail at every scan nor has it replace NAME.bad; what
// one uid leaves is logged once for all its files.
func TestSetAsideNeverReplaces(t *testing.T) {
	t.Parallel()
	f := newSubmitFixture(t)
	logs := &logBuffer{}
	f.ls = f.serverWith(t, func(o *localsubmit.Options) { o.Logger = slog.New(slog.NewTextHandler(logs, nil)) })
	drop := f.maildrop()
	squat := filepath.Join(drop, "4242") // root's, named after 4242: a squat
	for _, d := range []string{squat, squat + ".bad"} {
		if err := os.Mkdir(d, 0o770); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(squat+".bad", "earlier"), []byte("set aside before"), 0o640); err != nil {
		t.Fatal(err)
	}
	junk := filepath.Join(drop, "0000000000000002-junk")
	for p, data := range map[string]string{junk: "not a request\n", junk + ".bad": "keep me"} {
		if err := os.WriteFile(p, []byte(data), 0o640); err != nil {
			t.Fatal(err)
		}
	}
	for range 3 {
		f.ls.ScanDue(context.Background())
	}
	names := pickupFiles(t, drop)
	var asides int
	for _, n := range names {
		if n == "4242" || n == filepath.Base(junk) {
			t.Errorf("%s was not set aside: %v", n, names)
		}
		if strings.HasSuffix(n, ".bad") && strings.Count(n, ".") == 2 {
			asides++
		}
	}
	if asides != 2 {
		t.Errorf("want the squat and the junk file beside the existing .bad names, have %v", names)
	}
	if b, err := os.ReadFile(junk + ".bad"); err != nil || string(b) != "keep me" {
		t.Errorf("the earlier junk.bad was replaced: %q %v", b, err)
	}
	if _, err := os.Stat(filepath.Join(squat+".bad", "earlier")); err != nil {
		t.Errorf("the earlier squat's file: %v", err)
	}
	if n := logs.count("nor renamed"); n != 0 {
		t.Errorf("%d failed renames logged", n)
	}
	if n := logs.count("renamed to .bad"); n != 1 {
		t.Errorf("%d lines for one uid's two set-asides, want 1", n)
	}
}
