package main

import (
	"strings"
	"testing"
)

func TestMailboxCommands(t *testing.T) {
	t.Parallel()
	d := startDaemon(t)
	d.ok(t, "", "domain", "add", "example.org")
	d.ok(t, "correct horse battery\n", "user", "add", "alice@example.org", "--password-stdin")

	out := d.ok(t, "", "mailbox", "list", "alice@example.org")
	if !strings.HasPrefix(out, "MAILBOX") || !strings.Contains(out, `Trash    \Trash`) {
		t.Errorf("list: %q", out)
	}
	columnsAligned(t, out)
	if out := d.ok(t, "", "mailbox", "status", "alice@example.org", "INBOX"); !strings.Contains(out, "INBOX") || !strings.Contains(out, "2K") {
		t.Errorf("status: %q", out)
	}
	wantFail(t, d.cli(t, "", "mailbox", "status", "alice@example.org", "Nope"), exitNotFound, "Nope", "postern mailbox list alice@example.org")
	if out := d.ok(t, "", "mailbox", "create", "alice@example.org", "Lists"); out != "created Lists of alice@example.org\n" {
		t.Errorf("create: %q", out)
	}
	if out := d.ok(t, "", "mailbox", "rename", "alice@example.org", "Lists", "Lists2"); out != "renamed Lists of alice@example.org\n" {
		t.Errorf("rename: %q", out)
	}
	if out := d.ok(t, "", "mailbox", "expunge", "alice@example.org", "Trash", "--before", "30d"); out != "expunged 4 messages from Trash of alice@example.org\n" {
		t.Errorf("expunge: %q", out)
	}
	wantFail(t, d.cli(t, "", "mailbox", "expunge", "alice@example.org", "Trash"), exitUsage, "--before", "")
	wantFail(t, d.cli(t, "", "mailbox", "expunge", "alice@example.org", "Trash", "--before", "soon"), exitUsage, "not an age", "")
	wantFail(t, d.cli(t, "", "mailbox", "create", "nobody@example.org", "X"), exitNotFound, "nobody@example.org", "postern user list")

	if out := d.ok(t, "", "who"); !strings.Contains(out, "alice@example.org") || !strings.Contains(out, "192.0.2.7") {
		t.Errorf("who: %q", out)
	}
	if out := d.ok(t, "", "kick", "alice@example.org"); out != "ended 1 session of alice@example.org\n" {
		t.Errorf("kick: %q", out)
	}
}

func TestDoctorCommand(t *testing.T) {
	t.Parallel()
	d := startDaemon(t)
	r := d.cli(t, "", "doctor")
	if r.code != exitError || !strings.Contains(r.stdout, "PROBLEM") || !strings.Contains(r.stdout, `fix: set tls = "implicit"`) {
		t.Errorf("doctor: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	r = d.cli(t, "", "doctor", "--json")
	if r.code != exitError || !strings.Contains(r.stdout, `"severity": "problem"`) {
		t.Errorf("doctor --json: exit %d\n%s", r.code, r.stdout)
	}
}

func TestTraceCommand(t *testing.T) {
	t.Parallel()
	d := startDaemon(t)
	if out := d.ok(t, "", "trace", "--message-id", "<m@example.org>"); !strings.Contains(out, "message_id=m@example.org") {
		t.Errorf("trace: %q", out)
	}
	wantFail(t, d.cli(t, "", "trace"), exitUsage, "--message-id", "")
	wantFail(t, d.cli(t, "", "trace", "--since", "yesterday"), exitUsage, "neither an age", "")
}
