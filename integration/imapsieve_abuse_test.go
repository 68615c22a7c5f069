package integration

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// The attack on imapsieve (issue 18): a user's client floods the server with STOREs while
// a [[sieve.imapsieve]] rule runs a script on every FLAG event in INBOX, and the script
// redirects each message to an outside address. The client must not be slowed (every
// command answers promptly), the daemon's memory must stay bounded (the event queue is
// bounded, merges a message's flag events and drops the rest with a log line), and the
// redirects must stay within the user's outbound rate ([limits]
// messages_per_minute_per_user, as for mail the user submits), a message scored as spam
// never being sent on at all. The outside address is the relay stand-in, which records
// every message it is given.

const floodScript = `require ["copy", "imap4flags"];
redirect :copy "victim@elsewhere.example";
addflag "ScriptRan";
`

const floodClient = imapsieveLogin + `N = 200
for i in range(N):
    spam = "X-Spam: Yes\r\n" if i == 0 else ""
    body = ("%sFrom: a@example.org\r\nTo: alice@example.test\r\nSubject: flood %d\r\n\r\nhello\r\n" % (spam, i)).encode()
    typ, data = m.append("INBOX", None, None, body)
    assert typ == "OK", data
m.select("INBOX")
lat = []
def timed(fn):
    s = time.monotonic()
    typ, data = fn()
    lat.append(time.monotonic() - s)
    assert typ == "OK", data
start = time.monotonic()
for r in range(20):
    for op in ("+FLAGS.SILENT", "-FLAGS.SILENT"):
        timed(lambda: m.store("1:%d" % N, op, "(\\Flagged)"))
for i in range(2000):
    op = "+FLAGS.SILENT" if (i // N) % 2 == 0 else "-FLAGS.SILENT"
    timed(lambda: m.store(str(1 + i % N), op, "(\\Seen)"))
flood = time.monotonic() - start
s = time.monotonic()
typ, _ = m.noop()
noop = time.monotonic() - s
s = time.monotonic()
typ, data = m.fetch("1:*", "(FLAGS)")
fetch = time.monotonic() - s
m.logout()
print(json.dumps({"stores": len(lat), "max": max(lat), "flood": flood, "noop": noop, "fetch": fetch, "fetched": len(data)}))
`

func TestAbuseIMAPSieveFlagFlood(t *testing.T) {
	t.Parallel()
	py := needTool(t, "python3")
	stub := newRelayStub(t, "starttls")
	stub.Start()
	script := filepath.Join(t.TempDir(), "flood.sieve")
	if err := os.WriteFile(script, []byte(floodScript), 0o644); err != nil {
		t.Fatal(err)
	}
	const perMinute = 5
	s := NewServer(t, Options{Extra: stub.RelayConfig(t, "", 0o400) +
		fmt.Sprintf("[limits]\nmessages_per_minute_per_user = %d\n\n", perMinute) +
		fmt.Sprintf("[[sieve.imapsieve]]\nmailbox = \"INBOX\"\ncauses = [\"FLAG\"]\nbefore = %q\n", script)})
	rxSetup(t, s, "alice")
	start := time.Now()
	before := daemonHWM(t, s)

	got := runIMAPScript(t, py, s, floodClient)
	t.Logf("client: %v", got)
	if n, _ := got["stores"].(float64); n != 2040 {
		t.Fatalf("%v STOREs answered, want 2040", got["stores"])
	}
	// The client is not slowed: no STORE, NOOP or FETCH waits on the scripts.
	for _, k := range []string{"max", "noop", "fetch"} {
		if v, _ := got[k].(float64); v > 2 {
			t.Errorf("%s took %.2fs during the flood", k, v)
		}
	}
	// The queue bounds held, and said so.
	waitLogLine(t, s, 30*time.Second, `msg="imapsieve: event dropped"`)
	// The scripts ran (a flag), and the redirects stopped at the user's rate.
	waitLogLine(t, s, 60*time.Second, `msg="imapsieve: nothing sent; the message stays"`, "send rate")
	waitQueueEmpty(t, s)
	ms := stub.Messages()
	allowed := perMinute * (1 + int(time.Since(start)/time.Minute))
	if len(ms) == 0 || len(ms) > allowed {
		t.Errorf("%d redirects reached the outside, want 1 to %d (the user's rate)", len(ms), allowed)
	}
	for _, m := range ms {
		if subj := m.Header.Get("Subject"); subj == "flood 0" {
			t.Errorf("the message scored as spam was redirected to %v", m.RcptTos)
		}
	}
	after := daemonHWM(t, s)
	t.Logf("%d redirects sent; VmHWM %d KiB -> %d KiB", len(ms), before, after)
	if after-before > 64<<10 {
		t.Errorf("the flood grew the daemon by %d KiB", after-before)
	}
	if !s.Running() {
		t.Fatal("daemon died")
	}
	if lines := countLines(s, "imapsieve: event dropped"); lines > 20 {
		t.Errorf("%d drop lines: the log is flooded too", lines)
	}
}

func countLines(s *Server, substr string) int {
	n := 0
	for _, l := range s.Log() {
		if strings.Contains(l, substr) {
			n++
		}
	}
	return n
}
