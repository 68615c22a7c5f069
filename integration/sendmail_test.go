package integration

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// This file drives local submission the way services use it: `postern sendmail` (and the
// binary under the name sendmail, as mailutils' mail calls it) hands mail to the daemon
// over the local submission socket; local users get it at once, remote recipients wait in
// the queue (`postern queue list`); with the daemon stopped the message waits in
// state_dir/maildrop and is delivered when the daemon starts.

// smClosedPort is a loopback port nothing listens on, and that nobody can bind until the
// test ends (holdPort): a relay there is down.
func smClosedPort(t *testing.T) int {
	t.Helper()
	port, fd := holdPort(t)
	t.Cleanup(func() { syscall.Close(fd) })
	return port
}

// smServer starts a server whose smart host is down, with alice in example.test.
func smServer(t *testing.T) *Server {
	t.Helper()
	s := NewServer(t, Options{Extra: fmt.Sprintf("[relay]\nhost = \"127.0.0.1\"\nport = %d\ntls = \"none\"\n", smClosedPort(t))})
	rxSetup(t, s, "alice")
	return s
}

// smWaitFile waits until dir holds a message with subject (the pickup scan runs in the
// background after the daemon is ready).
func smWaitFile(t *testing.T, dir, subject string) string {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		if got := rxFindSubject(t, dir, subject); len(got) > 0 {
			if len(got) > 1 {
				t.Fatalf("%q delivered %d times", subject, len(got))
			}
			return got[0]
		}
		if time.Now().After(deadline) {
			t.Fatalf("%q never arrived in %s", subject, dir)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func TestSendmailLocalUser(t *testing.T) {
	t.Parallel()
	s := smServer(t)
	r := s.CLI("To: alice@example.test\nSubject: cron output\n\nthe job ran\n", "sendmail", "-t")
	if r.Code != 0 || r.Stderr != "" {
		t.Fatalf("sendmail -t: exit %d: %s", r.Code, r.Stderr)
	}
	// The reply came after the message was on disk: it is there now, no waiting.
	files := rxFindSubject(t, rxUserDir(s, "alice@example.test"), "cron output")
	if len(files) != 1 {
		t.Fatalf("alice has %d copies", len(files))
	}
	h := rxHeader(t, files[0])
	uid := os.Getuid()
	if len(h["date"]) != 1 || len(h["message-id"]) != 1 || !strings.HasSuffix(h["message-id"][0], "@mail.example.test>") {
		t.Errorf("Date/Message-ID not added: %v", h)
	}
	login := "root"
	if u := os.Getenv("USER"); uid != 0 && u != "" {
		login = u
	}
	if uid == 0 && (len(h["from"]) != 1 || h["from"][0] != "<root@mail.example.test>") {
		t.Errorf("From: %v, want <root@mail.example.test>", h["from"])
	}
	if len(h["from"]) != 1 || !strings.Contains(h["from"][0], "@mail.example.test") {
		t.Errorf("From: %v, want %s@mail.example.test", h["from"], login)
	}
	trace := fmt.Sprintf("(Postern, from userid %d)", uid)
	found := false
	for _, rcv := range h["received"] {
		found = found || strings.Contains(rcv, trace)
	}
	if !found {
		t.Errorf("no Received line with %q: %v", trace, h["received"])
	}
	if !smLogHas(s.Log(), fmt.Sprintf("uid=%d", uid), "local submission") {
		t.Errorf("the uid is not in the log")
	}

	// Refused recipients make sendmail fail, the way cron notices.
	r = s.CLI("Subject: x\n\nbody\n", "sendmail", "nobody@example.test")
	if r.Code != 67 || !strings.Contains(r.Stderr, "nobody@example.test") {
		t.Errorf("unknown local user: exit %d %q", r.Code, r.Stderr)
	}
}

// smLogHas reports whether some log line contains every part.
func smLogHas(lines []string, parts ...string) bool {
	for _, l := range lines {
		all := true
		for _, p := range parts {
			all = all && strings.Contains(l, p)
		}
		if all {
			return true
		}
	}
	return false
}

type smQueued struct {
	ID    string `json:"id"`
	From  string `json:"from"`
	Rcpts []struct {
		Addr      string `json:"addr"`
		Status    string `json:"status"`
		LastError string `json:"last_error"`
	} `json:"rcpts"`
}

func TestSendmailRemoteIsQueued(t *testing.T) {
	t.Parallel()
	s := smServer(t)
	r := s.CLI("Subject: to the outside\n\nhello\n", "sendmail", "-f", "alice@example.test", "friend@example.org")
	if r.Code != 0 || r.Stderr != "" {
		t.Fatalf("sendmail: exit %d: %s", r.Code, r.Stderr)
	}
	// The first attempt starts at once and fails: the relay is down.
	var q []smQueued
	deadline := time.Now().Add(15 * time.Second)
	for {
		q = nil
		if err := json.Unmarshal([]byte(s.MustCLI("queue", "list", "--json")), &q); err != nil {
			t.Fatal(err)
		}
		if len(q) == 1 && q[0].Rcpts[0].LastError != "" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no deferred attempt recorded: %+v", q)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if q[0].From != "alice@example.test" || q[0].Rcpts[0].Addr != "friend@example.org" || q[0].Rcpts[0].Status != "deferred" {
		t.Errorf("queued %+v", q[0])
	}
	list := s.MustCLI("queue", "list")
	if !strings.Contains(list, q[0].ID) || !strings.Contains(list, "friend@example.org") || !strings.Contains(list, "refused") {
		t.Errorf("queue list does not say why:\n%s", list)
	}
	if mq := s.MustCLI("mailq"); mq != list {
		t.Errorf("mailq differs from queue list:\n%s", mq)
	}
	show := s.MustCLI("queue", "show", q[0].ID)
	if !strings.Contains(show, "Subject: to the outside") || !strings.Contains(show, "from userid") {
		t.Errorf("queue show:\n%s", show)
	}
	s.MustCLI("queue", "hold", q[0].ID)
	if !strings.Contains(s.MustCLI("queue", "list"), q[0].ID+"!") {
		t.Error("held message not marked")
	}
	s.MustCLI("queue", "release", q[0].ID)
	s.MustCLI("queue", "delete", q[0].ID)
	if got := s.MustCLI("queue", "list"); got != "Mail queue is empty\n" {
		t.Errorf("after delete: %q", got)
	}
	if r := s.CLI("", "queue", "delete", q[0].ID); r.Code != 67 || !strings.Contains(r.Stderr, "no such message") {
		t.Errorf("delete twice: exit %d %q", r.Code, r.Stderr)
	}
	// The relay test explains the refused connection and fails.
	r = s.CLI("", "relay", "test")
	if r.Code != 1 || !strings.Contains(r.Stdout, "FAIL connect") {
		t.Errorf("relay test against a closed port: exit %d\n%s%s", r.Code, r.Stdout, r.Stderr)
	}
}

func TestSendmailDaemonStoppedUsesMaildrop(t *testing.T) {
	t.Parallel()
	s := smServer(t)
	s.Stop()
	r := s.CLI("To: alice@example.test\nSubject: while stopped\n\nkept\n", "sendmail", "-t", "-v")
	if r.Code != 0 {
		t.Fatalf("sendmail with the daemon stopped: exit %d: %s", r.Code, r.Stderr)
	}
	if !strings.Contains(r.Stderr, "maildrop") {
		t.Errorf("-v does not say where the message went: %q", r.Stderr)
	}
	// A recipient that does not exist: sendmail cannot know yet, so the sender gets a
	// bounce once the daemon delivers the pickup file, as with Postfix.
	r = s.CLI("Subject: to a typo\n\nlost\n", "sendmail", "-f", "alice@example.test", "nobdy@example.test")
	if r.Code != 0 {
		t.Fatalf("sendmail to an unknown user with the daemon stopped: exit %d: %s", r.Code, r.Stderr)
	}
	// Both wait in the caller's (root's) own directory of the maildrop.
	own := filepath.Join(s.StateDir, "maildrop", strconv.Itoa(os.Getuid()))
	pickup, err := os.ReadDir(own)
	if err != nil || len(pickup) != 2 {
		t.Fatalf("%s holds %v (%v)", own, pickup, err)
	}
	s.Start()
	smWaitFile(t, rxUserDir(s, "alice@example.test"), "while stopped")
	bounce, err := os.ReadFile(smWaitFile(t, rxUserDir(s, "alice@example.test"), "Undelivered Mail Returned to Sender"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"Final-Recipient: rfc822; nobdy@example.test", "Status: 5.1.1", "Subject: to a typo"} {
		if !strings.Contains(string(bounce), want) {
			t.Errorf("the bounce lacks %q:\n%s", want, bounce)
		}
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		left, _ := os.ReadDir(own)
		if len(left) == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("maildrop file not removed after delivery: %v", left)
		}
		time.Sleep(50 * time.Millisecond)
	}
	// Restarting does not deliver it again.
	s.Restart()
	if n := len(rxFindSubject(t, rxUserDir(s, "alice@example.test"), "while stopped")); n != 1 {
		t.Errorf("%d copies after a restart", n)
	}
}

// TestMailutilsMail: mailutils' mail calls sendmail by that name; a symlink to the
// binary is all the setup, as /usr/sbin/sendmail would be.
func TestMailutilsMail(t *testing.T) {
	t.Parallel()
	mail := needTool(t, "mail")
	s := smServer(t)
	dir := t.TempDir()
	link := filepath.Join(dir, "sendmail")
	if err := os.Symlink(bin, link); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, mail, "-E", "set sendmail=sendmail://"+link, "-s", "hi from mailx", "alice@example.test")
	cmd.Env = append(os.Environ(), "POSTERN_CONFIG="+s.Config, "HOME="+dir, "GOCOVERDIR="+coverDir)
	cmd.Stdin = strings.NewReader("sent with mail(1)\n")
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		t.Fatalf("mail: %v\n%s", err, out.String())
	}
	f := smWaitFile(t, rxUserDir(s, "alice@example.test"), "hi from mailx")
	h := rxHeader(t, f)
	if len(h["message-id"]) != 1 || len(h["date"]) != 1 || len(h["from"]) != 1 {
		t.Errorf("headers a user expects are missing: %v", h)
	}
}
