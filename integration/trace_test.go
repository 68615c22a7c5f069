package integration

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/postern/postern/trace"
)

// TestTraceSieveDelivery: a message to an alias of alice that her Sieve script files
// into Lists is told by postern trace --message-id: the client and HELO, the message
// with its Message-ID, how the recipient resolved (the alias), the script line and
// action that decided, the mailbox and the UID it got; --address finds the same
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
	var out string
	for deadline := time.Now().Add(20 * time.Second); ; {
		out = s.MustCLI("trace", "--message-id", "<trace-1@example.org>")
		if strings.Contains(out, "alice@example.test/Lists") || time.Now().After(deadline) {
			break
		}
	}
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
