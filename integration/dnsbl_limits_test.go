package integration

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// This file checks issue 8's DNSBL and rate limits as a user would: the real daemon, its
// [dns] servers pointed at an in-process DNS server, swaks as a sending server outside
// trusted_networks (127.0.0.1, which the fake blocklist lists).

func TestDNSBLListedClient(t *testing.T) {
	t.Parallel()
	dnsSrv := startFakeDNS(t, false, `1.0.0.127.bl.example. 60 IN A 127.0.0.2`)
	s := NewServer(t, Options{SMTP: "trusted_networks = []",
		Extra: fmt.Sprintf("[dns]\nservers = [%q]\n[dnsbl]\nzones = [\"clean.example\", \"bl.example\"]\n", dnsSrv.Addr)})
	rxSetup(t, s, "alice")
	p := filepath.Join(t.TempDir(), "msg")
	if err := os.WriteFile(p, trustMessage("sender.example", "listed"), 0o644); err != nil {
		t.Fatal(err)
	}
	out, code := rxSwaks(t, s, "--from", "someone@sender.example", "--to", "alice@example.test", "--data", p)
	if code == 0 || !strings.Contains(out, "554 5.7.1 Service unavailable; Client host [127.0.0.1] blocked using bl.example") {
		t.Fatalf("want 554 5.7.1 naming bl.example, exit %d:\n%s", code, out)
	}
	if got := rxFindSubject(t, rxUserDir(s, "alice@example.test"), "listed"); len(got) != 0 {
		t.Fatalf("mail from a listed client was delivered: %v", got)
	}
	waitLogLine(t, s, 10*time.Second, "msg=reject", "status=reject", "stage=rcpt", "code=554", "blocked using bl.example")
}

func TestDNSBLCleanClient(t *testing.T) {
	t.Parallel()
	dnsSrv := startFakeDNS(t, false, `2.0.0.127.bl.example. 60 IN A 127.0.0.2`)
	s := NewServer(t, Options{SMTP: "trusted_networks = []",
		Extra: fmt.Sprintf("[dns]\nservers = [%q]\n[dnsbl]\nzones = [\"bl.example\"]\n", dnsSrv.Addr)})
	rxSetup(t, s, "alice")
	p := filepath.Join(t.TempDir(), "msg")
	if err := os.WriteFile(p, trustMessage("sender.example", "clean"), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, code := rxSwaks(t, s, "--from", "someone@sender.example", "--to", "alice@example.test", "--data", p); code != 0 {
		t.Fatalf("a client not on the list was refused, exit %d:\n%s", code, out)
	}
	if got := rxFindSubject(t, rxUserDir(s, "alice@example.test"), "clean"); len(got) != 1 {
		t.Fatalf("want the message delivered, got %v", got)
	}
}

func TestLimitMessagesPerIP(t *testing.T) {
	t.Parallel()
	dnsSrv := startFakeDNS(t, false)
	s := NewServer(t, Options{SMTP: "trusted_networks = []",
		Extra: fmt.Sprintf("[dns]\nservers = [%q]\n[limits]\nmessages_per_minute_per_ip = 2\n", dnsSrv.Addr)})
	rxSetup(t, s, "alice")
	dir := t.TempDir()
	for i := 1; i <= 3; i++ {
		p := filepath.Join(dir, fmt.Sprint(i))
		if err := os.WriteFile(p, trustMessage("sender.example", fmt.Sprintf("rate%d", i)), 0o644); err != nil {
			t.Fatal(err)
		}
		out, code := rxSwaks(t, s, "--from", "someone@sender.example", "--to", "alice@example.test", "--data", p)
		if i <= 2 && code != 0 {
			t.Fatalf("message %d refused, exit %d:\n%s", i, code, out)
		}
		if i == 3 && (code == 0 || !strings.Contains(out, "450 4.7.1 Error: too much mail from 127.0.0.1")) {
			t.Fatalf("third message in a minute: want 450 4.7.1, exit %d:\n%s", code, out)
		}
	}
	waitLogLine(t, s, 10*time.Second, "msg=reject", "status=reject", "stage=mail", "code=450", "too much mail from 127.0.0.1")
}

func TestLimitRecipientsPerIP(t *testing.T) {
	t.Parallel()
	dnsSrv := startFakeDNS(t, false)
	s := NewServer(t, Options{SMTP: "trusted_networks = []",
		Extra: fmt.Sprintf("[dns]\nservers = [%q]\n[limits]\nrecipients_per_minute_per_ip = 2\n", dnsSrv.Addr)})
	rxSetup(t, s, "alice", "bob", "carol")
	p := filepath.Join(t.TempDir(), "msg")
	if err := os.WriteFile(p, trustMessage("sender.example", "rcpts"), 0o644); err != nil {
		t.Fatal(err)
	}
	// swaks gives up on the message only if every recipient is refused; the
	// third is refused and the first two get it.
	out, _ := rxSwaks(t, s, "--from", "someone@sender.example",
		"--to", "alice@example.test,bob@example.test,carol@example.test", "--data", p)
	if !strings.Contains(out, "452 4.5.3 Error: too many recipients from 127.0.0.1") {
		t.Fatalf("third recipient in a minute: want 452 4.5.3:\n%s", out)
	}
	if got := rxFindSubject(t, rxUserDir(s, "carol@example.test"), "rcpts"); len(got) != 0 {
		t.Errorf("the refused recipient got the message: %v", got)
	}
	if got := rxFindSubject(t, rxUserDir(s, "alice@example.test"), "rcpts"); len(got) != 1 {
		t.Errorf("an accepted recipient did not get the message: %v", got)
	}
	waitLogLine(t, s, 10*time.Second, "msg=reject", "status=reject", "stage=rcpt", "code=452", "to=carol@example.test")
}
