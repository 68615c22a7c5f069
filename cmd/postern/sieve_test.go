package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func writeTemp(t *testing.T, dir, name, body string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestSieveDaemonCommands(t *testing.T) {
	t.Parallel()
	d := startDaemon(t)
	d.ok(t, "", "domain", "add", "example.org")
	d.ok(t, "pw\n", "user", "add", "alice@example.org", "--password-stdin")
	if out := d.ok(t, "", "sieve", "list", "alice@example.org"); out != "no scripts\n" {
		t.Fatalf("empty list: %q", out)
	}
	file := writeTemp(t, t.TempDir(), "spam.sieve", "require \"fileinto\";\nfileinto \"Junk\";\n")
	if out := d.ok(t, "", "sieve", "put", "alice@example.org", "spam", file); !strings.Contains(out, "stored sieve script spam") {
		t.Fatalf("put: %q", out)
	}
	d.ok(t, "keep;\n", "sieve", "put", "alice@example.org", "main")
	wantFail(t, d.cli(t, "frobnicate;\n", "sieve", "put", "alice@example.org", "bad"), exitRefused, "line 1, column 1", "postern sieve check")
	d.ok(t, "", "sieve", "activate", "alice@example.org", "spam")
	out := d.ok(t, "", "sieve", "list", "alice@example.org")
	columnsAligned(t, out)
	if !strings.Contains(out, "spam  yes") || !strings.Contains(out, "main  no") {
		t.Fatalf("list:\n%s", out)
	}
	if out := d.ok(t, "", "sieve", "list", "alice@example.org", "--json"); !strings.Contains(out, `"active": true`) {
		t.Fatalf("list --json: %s", out)
	}
	if out := d.ok(t, "", "sieve", "get", "alice@example.org", "main"); out != "keep;\n" {
		t.Fatalf("get: %q", out)
	}
	wantFail(t, d.cli(t, "", "sieve", "delete", "alice@example.org", "spam"), exitRefused, "active", "postern sieve activate alice@example.org")
	wantFail(t, d.cli(t, "", "sieve", "get", "alice@example.org", "nope"), exitNotFound, "not found", "postern sieve list")
	if out := d.ok(t, "", "sieve", "activate", "alice@example.org"); !strings.Contains(out, "no sieve script active") {
		t.Fatalf("deactivate: %q", out)
	}
	d.ok(t, "", "sieve", "delete", "alice@example.org", "spam")
	wantFail(t, d.cli(t, "", "sieve", "put", "alice@example.org"), exitUsage, "missing arguments", "")
}

func TestSieveCheck(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	good := writeTemp(t, dir, "good.sieve", "require \"fileinto\";\nif header :contains \"List-Id\" \"lists\" { fileinto \"Lists\"; }\n")
	r := runCLI(t, "", nil, "sieve", "check", good)
	if r.code != 0 || r.stdout != good+": ok\n" {
		t.Fatalf("good script: %+v", r)
	}
	bad := writeTemp(t, dir, "bad.sieve", "keep;\nif true {\n  fileinto \"x\";\n}\n")
	r = runCLI(t, "", nil, "sieve", "check", bad)
	if r.code != 1 || !strings.HasPrefix(r.stderr, bad+":3:3: unknown-command error:") {
		t.Fatalf("bad script: %+v", r)
	}
	// A Dovecot script: what Pigeonhole has compiles; what we lack is named, with what to do.
	dovecot := writeTemp(t, dir, "dovecot.sieve", `require ["spamtestplus", "relational", "comparator-i;ascii-numeric", "fileinto", "editheader", "enotify", "foreverypart", "mime"];
if spamtest :percent :value "ge" :comparator "i;ascii-numeric" "40" { addheader "X-Junk" "yes"; fileinto "Junk"; }
foreverypart { if header :mime :subtype "content-type" "pdf" { notify "mailto:me@example.org"; break; } }
`)
	if r = runCLI(t, "", nil, "sieve", "check", dovecot); r.code != 0 {
		t.Fatalf("Dovecot script: %+v", r)
	}
	pipe := writeTemp(t, dir, "pipe.sieve", "require [\"vnd.dovecot.pipe\"];\npipe \"sa-learn-spam.sh\";\n")
	r = runCLI(t, "", nil, "sieve", "check", pipe)
	if r.code != 1 || !strings.Contains(r.stderr, `"vnd.dovecot.pipe": Postern does not support it;`) || !strings.Contains(r.stderr, "[spam_learning]") {
		t.Fatalf("pipe script: %+v", r)
	}
	r = runCLI(t, "", nil, "sieve", "check", filepath.Join(dir, "missing.sieve"))
	if r.code != 1 || !strings.Contains(r.stderr, "no such file") {
		t.Fatalf("missing file: %+v", r)
	}
}

func TestSieveTestOutcome(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	personal := filepath.Join(dir, "personal")
	global := filepath.Join(dir, "global")
	for _, d := range []string{personal, global} {
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	writeTemp(t, global, "spam.sieve", "require [\"fileinto\", \"imap4flags\"];\nif header :is \"X-Spam\" \"Yes\" { fileinto :flags \"\\\\Seen\" \"Junk\"; stop; }\n")
	writeTemp(t, personal, "lists.sieve", "require [\"fileinto\", \"mailbox\"];\nif mailboxexists \"Lists\" { fileinto \"Lists\"; }\n")
	script := writeTemp(t, dir, "main.sieve", "require \"include\";\ninclude :global \"spam\";\ninclude :personal \"lists\";\n")
	spam := writeTemp(t, dir, "spam.eml", "From: a@example.org\r\nTo: me@example.net\r\nX-Spam: Yes\r\nSubject: buy\r\n\r\nbody\r\n")
	ham := writeTemp(t, dir, "ham.eml", "From: a@example.org\r\nTo: me@example.net\r\nSubject: hi\r\n\r\nbody\r\n")
	args := func(msg string, extra ...string) []string {
		return append([]string{"sieve", "test", "--script", script, "--message", msg, "--from", "a@example.org",
			"--to", "me@example.net", "--personal", personal, "--global", global}, extra...)
	}
	for _, tt := range []struct {
		msg   string
		extra []string
		want  string
	}{
		{spam, nil, "fileinto \"Junk\" flags=\\seen\n"},
		{ham, nil, "keep\n"},
		{ham, []string{"--mailboxes", "Archive,Lists"}, "fileinto \"Lists\"\n"},
	} {
		r := runCLI(t, "", nil, args(tt.msg, tt.extra...)...)
		if r.code != 0 || r.stdout != tt.want {
			t.Errorf("%s %v: exit %d, stdout %q, want %q (stderr %q)", filepath.Base(tt.msg), tt.extra, r.code, r.stdout, tt.want, r.stderr)
		}
	}
	// The message from standard input.
	raw, _ := os.ReadFile(spam)
	r := runCLI(t, string(raw), nil, args("-")...)
	if r.stdout != "fileinto \"Junk\" flags=\\seen\n" {
		t.Errorf("stdin message: %+v", r)
	}
	// Without --global the include is missing: a compile error, exit 1.
	r = runCLI(t, "", nil, "sieve", "test", "--script", script, "--message", ham, "--from", "a@example.org", "--to", "me@example.net")
	if r.code != 1 || r.stdout != "error compile include\n" {
		t.Errorf("missing include: %+v", r)
	}
	r = runCLI(t, "", nil, "sieve", "test", "--script", script, "--message", ham)
	if r.code != exitUsage || !strings.Contains(r.stderr, "--from is required") {
		t.Errorf("missing --from: %+v", r)
	}
}
