package integration

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/postern/postern/trace"
)

// TestTraceSieveDelivery: a message to an alias of alice that her Sieve script files
// into Lists is told by postern trace --message-id: the client and HELO, the message
// with its Message-ID, how the recipient resolved (the alias), the script line and
// action that decided, the mailbox and the UID it got; --address finds the same
// waitTrace runs postern trace with args until its output holds every one of wants (the
// recorder writes its events a moment after they happen), or a minute has passed; it
// returns the last output either way.
func waitTrace(t *testing.T, s *Server, wants []string, args ...string) string {
	t.Helper()
	for deadline := time.Now().Add(time.Minute); ; {
		out := s.MustCLI(append([]string{"trace"}, args...)...)
		missing := slices.ContainsFunc(wants, func(w string) bool { return !strings.Contains(out, w) })
		if !missing || time.Now().After(deadline) {
			return out
		}
		time.Sleep(50 * time.Millisecond) // polling the trace, which the recorder writes in batches
	}
}

// story, --json has it as events.
func TestTraceSieveDelivery(t *testing.T) {
	t.Parallel()
	s := NewServer(t, Options{})
	rxSetup(t, s, "alice")
	script := filepath.Join(t.TempDir(), "main.sieve")
	if err := os.WriteFile(script, []byte("require [\"fileinto\", \"mailbox\"];\nif header :contains \"List-Id\" \"golang\" { fileinto :create \"Lists\"; }\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	s.MustCLI("sieve", "put", "alice@example.test", "main", script)
	s.MustCLI("sieve", "activate", "alice@example.test", "main")
	s.MustCLI("alias", "add", "golang@example.test", "alice@example.test")
	if out, code := rxSwaks(t, s, "--to", "golang@example.test", "--from", "sender@example.org", "--header", "Subject: [go] generics",
		"--add-header", "List-Id: <golang-nuts.googlegroups.com>", "--header", "Message-Id: <trace-1@example.org>"); code != 0 {
		t.Fatalf("swaks: %s", out)
	}
	out := waitTrace(t, s, []string{"alice@example.test/Lists"}, "--message-id", "<trace-1@example.org>")
	t.Logf("postern trace:\n%s", out)
	for _, want := range []string{"connect", "client=127.0.0.1", "helo=client.example.org", "message_id=trace-1@example.org",
		"from=sender@example.org", "delivered", "mailbox=alice@example.test/Lists", "uid=1",
		`resolved="alias golang@example.test -> alice@example.test"`, `sieve="main:2 fileinto Lists"`} {
		if !strings.Contains(out, want) {
			t.Errorf("trace lacks %q", want)
		}
	}
	if by := s.MustCLI("trace", "--address", "alice@example.test"); !strings.Contains(by, "message_id=trace-1@example.org") {
		t.Errorf("trace --address:\n%s", by)
	}
	var stories []trace.Story
	if err := json.Unmarshal([]byte(s.MustCLI("trace", "--message-id", "trace-1@example.org", "--json")), &stories); err != nil || len(stories) != 1 {
		t.Fatalf("--json: %v %+v", err, stories)
	}
	if out := s.MustCLI("trace", "--message-id", "nothing@example.org"); out != "no message matches\n" {
		t.Errorf("unknown id: %q", out)
	}
}

// TestTraceForwarded: a recipient that is an alias of an outside address, and a user
// whose Sieve script redirects outside, each get a story that says how the copy left
// (resolved: the alias, or the script line of the redirect) and follows the queued copy
// through its attempts at the smart host (the relay stand-in): the one accepted
// (status=delivered, 250), the redirected one refused for now (450, next_attempt).
func TestTraceForwarded(t *testing.T) {
	t.Parallel()
	stub := newRelayStub(t, "starttls")
	stub.Start()
	s := NewServer(t, Options{Extra: stub.RelayConfig(t, "", 0o400) + "\n[queue]\nmin_backoff = \"1h\"\n"})
	rxSetup(t, s, "alice", "bob")
	s.MustCLI("alias", "add", "fwd@example.test", "friend@example.org")
	script := filepath.Join(t.TempDir(), "out.sieve")
	if err := os.WriteFile(script, []byte("# everything out\nredirect \"tempfail@example.org\";\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	s.MustCLI("sieve", "put", "bob@example.test", "out", script)
	s.MustCLI("sieve", "activate", "bob@example.test", "out")
	for _, m := range [][2]string{{"fwd@example.test", "<fwd-1@example.org>"}, {"bob@example.test", "<redir-1@example.org>"}} {
		if out, code := rxSwaks(t, s, "--to", m[0], "--from", "sender@example.org", "--header", "Message-Id: "+m[1]); code != 0 {
			t.Fatalf("swaks: %s", out)
		}
	}
	story := func(id, until string) string {
		t.Helper()
		out := waitTrace(t, s, []string{until}, "--message-id", id)
		t.Logf("postern trace --message-id %s:\n%s", id, out)
		return out
	}
	out := story("<fwd-1@example.org>", "status=delivered")
	for _, want := range []string{"message_id=fwd-1@example.org", "queued", `resolved="alias fwd@example.test -> friend@example.org"`,
		"route=relay", "delivery", "to=friend@example.org", "status=delivered", "code=250", "attempt=1"} {
		if !strings.Contains(out, want) {
			t.Errorf("forward story lacks %q", want)
		}
	}
	out = story("<redir-1@example.org>", "next_attempt=")
	for _, want := range []string{"message_id=redir-1@example.org", "mailbox=bob@example.test/(redirected)",
		`sieve="out:2 redirect tempfail@example.org"`, "redirected",
		`resolved="redirect out:2 bob@example.test -> tempfail@example.org"`, "queued", "to=tempfail@example.org",
		"status=deferred", "code=450", "attempt=1", "next_attempt="} {
		if !strings.Contains(out, want) {
			t.Errorf("redirect story lacks %q", want)
		}
	}
	if by := s.MustCLI("trace", "--address", "tempfail@example.org"); !strings.Contains(by, "message_id=redir-1@example.org") {
		t.Errorf("trace --address of the redirect target does not reach the original message:\n%s", by)
	}
}
