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
	const perMinute = 5
	s, stub := imapsieveRelayServer(t, perMinute, "INBOX", "FLAG", floodScript)
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
	// The queue bounds held, and said so, in the log and in the metrics.
	waitLogLine(t, s, 30*time.Second, `msg="imapsieve: event dropped"`)
	m := scrape(t, s)
	if n := m[`postern_imapsieve_events_dropped_total{reason="queue_full"}`] + m[`postern_imapsieve_events_dropped_total{reason="user_share_full"}`]; n < 1 {
		t.Errorf("postern_imapsieve_events_dropped_total counts %v drops after the flood", n)
	} else {
		t.Logf("dropped events: %v (user_share_full %v)", n, m[`postern_imapsieve_events_dropped_total{reason="user_share_full"}`])
	}
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

// imapsieveRelayServer starts a server with alice, relaying to a stub, the user's rate
// at perMinute messages, and one [[sieve.imapsieve]] rule running script on cause in
// mailbox.
func imapsieveRelayServer(t *testing.T, perMinute int, mailbox, cause, script string) (*Server, *relayStub) {
	t.Helper()
	stub := newRelayStub(t, "starttls")
	stub.Start()
	path := filepath.Join(t.TempDir(), "rule.sieve")
	if err := os.WriteFile(path, []byte(script), 0o644); err != nil {
		t.Fatal(err)
	}
	s := NewServer(t, Options{NoStart: true, Extra: stub.RelayConfig(t, "", 0o400) +
		fmt.Sprintf("[limits]\nmessages_per_minute_per_user = %d\n\n", perMinute) +
		fmt.Sprintf("[[sieve.imapsieve]]\nmailbox = %q\ncauses = [%q]\nbefore = %q\n", mailbox, cause, path)})
	withListen(t, s, map[string]string{"metrics": "127.0.0.1:0"})
	rxSetup(t, s, "alice")
	return s, stub
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

// heldClient appends 6 messages scored as spam to INBOX and copies each into Forward,
// whose rule redirects every message copied there: all 6 are held (issue 14's rule).
const heldClient = imapsieveLogin + `for i in range(6):
    body = ("X-Spam: Yes\r\nFrom: a@example.org\r\nTo: alice@example.test\r\nSubject: held %d\r\n\r\nbuy\r\n" % i).encode()
    typ, data = m.append("INBOX", None, None, body)
    assert typ == "OK", data
m.select("INBOX")
typ, data = m.copy("1:6", "Forward")
m.logout()
print(json.dumps({"copy": typ}))
`

// TestIMAPSieveHeldRedirectsLeaveTheRate: redirects of held messages send nothing, so they
// take none of the user's outbound rate; afterwards the user still submits as many
// messages as the rate allows.
func TestIMAPSieveHeldRedirectsLeaveTheRate(t *testing.T) {
	t.Parallel()
	py := needTool(t, "python3")
	const perMinute = 3
	s, stub := imapsieveRelayServer(t, perMinute, "Forward", "COPY", `redirect "victim@elsewhere.example";`)
	s.MustCLI("mailbox", "create", "alice@example.test", "Forward")
	if got := runIMAPScript(t, py, s, heldClient); got["copy"] != "OK" {
		t.Fatalf("COPY: %v", got)
	}
	deadline := time.Now().Add(60 * time.Second)
	for countLines(s, `msg="imapsieve: nothing sent; the message stays"`) < 6 {
		if time.Now().After(deadline) {
			t.Fatalf("%d of 6 events ran", countLines(s, `msg="imapsieve: nothing sent; the message stays"`))
		}
		time.Sleep(50 * time.Millisecond)
	}
	if n := countLines(s, "send rate"); n != 0 {
		t.Errorf("%d held redirects were refused by the send rate: they counted against it", n)
	}
	for i := range perMinute {
		out, code := sxSwaks(t, s.Addrs["submission"], append([]string{"--tls", "--from", "alice@example.test", "--to", "bob@example.org",
			"--header", fmt.Sprintf("Subject: after %d", i)}, sxAuth("PLAIN", strings.TrimSpace(rxPassword))...)...)
		if code != 0 {
			t.Fatalf("submission %d of %d after the held redirects refused:\n%s", i+1, perMinute, out)
		}
	}
	waitQueueEmpty(t, s)
	for _, m := range stub.Messages() {
		if strings.HasPrefix(m.Header.Get("Subject"), "held") {
			t.Errorf("a held message reached the outside: %v", m.RcptTos)
		}
	}
	if got := len(stub.Messages()); got != perMinute {
		t.Errorf("%d messages reached the relay, want %d (the submissions)", got, perMinute)
	}
}
