package integration

import (
	"bufio"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// The owner's mailbox commands against a real IMAP client (imaplib) that has Trash open:
// postern mailbox expunge --before removes only the old message and the client is told
// (EXPUNGE at its next NOOP); postern who lists the session and postern kick ends it.
const mailboxCmdScript = `
import imaplib, json, os, ssl, sys, time
c = ssl.create_default_context(); c.check_hostname, c.verify_mode = False, ssl.CERT_NONE
m = imaplib.IMAP4_SSL("127.0.0.1", int(os.environ["IMAPS_PORT"]), ssl_context=c, timeout=30)
m.login(os.environ["IMAP_USER"], os.environ["IMAP_PASS"])
msg = b"From: a@example.org\r\nSubject: %s\r\n\r\nbody\r\n"
old = imaplib.Time2Internaldate(time.time() - 40*86400)
new = imaplib.Time2Internaldate(time.time() - 3600)
m.append("Trash", None, old, msg % b"old")
m.append("Trash", None, new, msg % b"new")
typ, data = m.select("Trash")
print(json.dumps({"exists": int(data[0])}), flush=True)
sys.stdin.readline()
m.noop()
exp = [x.decode() for x in (m.untagged_responses.pop("EXPUNGE", None) or [])]
typ, data = m.search(None, "ALL")
print(json.dumps({"expunged": exp, "left": data[0].decode()}), flush=True)
sys.stdin.readline()
try:
    m.noop()
    print(json.dumps({"after_kick": "OK"}), flush=True)
except Exception as e:
    print(json.dumps({"after_kick": type(e).__name__}), flush=True)
`

func TestMailboxCommandsWithImaplib(t *testing.T) {
	t.Parallel()
	py := needTool(t, "python3")
	s := NewServer(t, Options{})
	rxSetup(t, s, "alice")

	path := filepath.Join(t.TempDir(), "client.py")
	if err := os.WriteFile(path, []byte(mailboxCmdScript), 0o644); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	cmd := exec.CommandContext(ctx, py, path)
	cmd.Env = append(os.Environ(), "IMAPS_PORT="+portOf(t, s.Addrs["imaps"]), "IMAP_USER=alice@example.test", "IMAP_PASS="+strings.TrimSpace(rxPassword))
	cmd.Stderr = os.Stderr
	stdin, _ := cmd.StdinPipe()
	stdout, _ := cmd.StdoutPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { cancel(); cmd.Wait() }()
	lines := bufio.NewScanner(stdout)
	next := func() map[string]any {
		t.Helper()
		if !lines.Scan() {
			t.Fatalf("python client ended early: %v", lines.Err())
		}
		var got map[string]any
		if err := json.Unmarshal(lines.Bytes(), &got); err != nil {
			t.Fatalf("python client: %v: %s", err, lines.Text())
		}
		return got
	}
	if got := next(); got["exists"] != 2.0 {
		t.Fatalf("Trash holds %v messages, want 2", got["exists"])
	}
	if out := s.MustCLI("mailbox", "status", "alice@example.test", "Trash"); !strings.Contains(out, "Trash") || !strings.Contains(out, `\Trash`) {
		t.Errorf("mailbox status: %s", out)
	}
	if out := s.MustCLI("who"); !strings.Contains(out, "alice@example.test") || !strings.Contains(out, "Trash") {
		t.Errorf("who does not show alice in Trash:\n%s", out)
	}
	if out := s.MustCLI("mailbox", "expunge", "alice@example.test", "Trash", "--before", "30d"); !strings.Contains(out, "expunged 1 message") {
		t.Errorf("expunge: %s", out)
	}
	stdin.Write([]byte("\n"))
	got := next()
	if exp, _ := got["expunged"].([]any); len(exp) != 1 || exp[0] != "1" || got["left"] != "1" {
		t.Errorf("the client saw EXPUNGE %v and has %q left, want [1] and \"1\"", got["expunged"], got["left"])
	}
	if r := s.CLI("", "mailbox", "create", "alice@example.test", "../escape"); r.Code == 0 {
		t.Errorf("a mailbox name outside the Maildir was accepted: %s", r.Stdout)
	}
	s.MustCLI("mailbox", "create", "alice@example.test", "Lists")
	s.MustCLI("mailbox", "rename", "alice@example.test", "Lists", "Newsletters")
	if out := s.MustCLI("mailbox", "list", "alice@example.test"); !strings.Contains(out, "Newsletters") {
		t.Errorf("list after rename:\n%s", out)
	}
	s.MustCLI("mailbox", "delete", "alice@example.test", "Newsletters")
	if out := s.MustCLI("kick", "alice@example.test"); !strings.Contains(out, "ended 1 session") {
		t.Errorf("kick: %s", out)
	}
	stdin.Write([]byte("\n"))
	if got := next(); got["after_kick"] == "OK" {
		t.Error("the session still answers after postern kick")
	}
	for deadline := time.Now().Add(10 * time.Second); ; {
		out := s.MustCLI("who")
		if !strings.Contains(out, "alice@example.test") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("who after kick:\n%s", out)
		}
	}
}
