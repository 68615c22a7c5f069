package integration

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// This file is local services' mail to the machine's names (localsubmit/rewrite.go): cron
// writes to root, NUT's upsmon to nut or root@HOSTNAME, scripts to someone@localhost. It
// reaches the owner (postmaster@ the first domain, as postern init aliases it, or
// [alerts] to), whoever sends it, with the daemon up or down; with no owner yet it waits.

// smOwnerServer is smServer (relay down, alice) with ops, the owner: postmaster@ an alias
// of ops, as postern init makes it. The directories are opened to other users as a real
// install has them, so that nobody can use sendmail.
func smOwnerServer(t *testing.T, owner bool) *Server {
	t.Helper()
	s := smServer(t)
	if r := s.CLI(rxPassword, "user", "add", "ops@example.test", "--password-stdin"); r.Code != 0 {
		t.Fatalf("user add ops: %d %s", r.Code, r.Stderr)
	}
	if owner {
		s.MustCLI("alias", "add", "postmaster@example.test", "ops@example.test")
	}
	for _, d := range []string{filepath.Dir(s.Dir), s.Dir, s.StateDir} {
		if err := os.Chmod(d, 0o711); err != nil {
			t.Fatal(err)
		}
	}
	return s
}

// smSend runs sendmail as attr (nil: root) and wants exit 0 and nothing said (the
// coverage runtime may complain that another user cannot write the root's coverage
// directory).
func smSend(t *testing.T, s *Server, attr *syscall.SysProcAttr, subject string, args ...string) {
	t.Helper()
	r := runCLI(t, s.Config, "Subject: "+subject+"\n\nUPS on battery\n", attr, append([]string{"sendmail"}, args...)...)
	if r.Code != 0 || strings.Contains(r.Stderr, "sendmail:") {
		t.Fatalf("sendmail %q (%s): exit %d: %s", args, subject, r.Code, r.Stderr)
	}
}

func TestSendmailMachineNamesReachTheOwner(t *testing.T) {
	t.Parallel()
	as, _ := asNobody(t)
	s := smOwnerServer(t, true)
	host, err := os.Hostname()
	if err != nil {
		t.Fatal(err)
	}
	owner, alice := rxUserDir(s, "ops@example.test"), rxUserDir(s, "alice@example.test")
	// Each recipient, the address its Received line names, and whose Maildir it reaches.
	rcpts := []struct{ rcpt, trace, dir string }{
		{"root", "root@mail.example.test", owner},
		{"nut", "nut@mail.example.test", owner},
		{"root@" + host, "root@" + strings.ToLower(host), owner},
		{"x@localhost", "x@localhost", owner},
		{"alice", "alice@mail.example.test", alice},
	}
	users := []struct {
		name string
		attr *syscall.SysProcAttr
	}{{"root", nil}, {"nobody", as}}
	type sent struct{ trace, dir string }
	subjects := map[string]sent{}
	send := func(state string) {
		for _, u := range users {
			for _, r := range rcpts {
				subj := fmt.Sprintf("to %s as %s, daemon %s", r.rcpt, u.name, state)
				smSend(t, s, u.attr, subj, r.rcpt)
				subjects[subj] = sent{r.trace, r.dir}
			}
			smSend(t, s, u.attr, "outside as "+u.name+", daemon "+state, "friend@example.org")
		}
	}
	check := func() {
		t.Helper()
		for subj, w := range subjects {
			data, err := os.ReadFile(smWaitFile(t, w.dir, subj))
			if err != nil {
				t.Fatal(err)
			}
			for _, want := range []string{"\tfor <" + w.trace + ">;", "Delivered-To: " + filepath.Base(w.dir) + "@example.test\r\n"} {
				if !strings.Contains(string(data), want) {
					t.Errorf("%q lacks %q:\n%s", subj, want, data)
				}
			}
		}
	}

	send("up")
	check()
	s.Stop()
	send("down")
	if left := maildropFiles(t, filepath.Join(s.StateDir, "maildrop")); len(left) != 2*(len(rcpts)+1) {
		t.Errorf("the maildrop holds %d files with the daemon down, want %d", len(left), 2*(len(rcpts)+1))
	}
	s.Start()
	check()
	if n, want := len(rxFiles(t, owner)), 2*2*4; n != want {
		t.Errorf("the owner has %d messages, want %d", n, want)
	}
	if n := len(rxFiles(t, alice)); n != 2*2 {
		t.Errorf("alice has %d messages, want 4", n)
	}
	// The outside address went to the relay queue, as before; nothing else did.
	deadline := time.Now().Add(15 * time.Second)
	for {
		var q []smQueued
		if err := json.Unmarshal([]byte(s.MustCLI("queue", "list", "--json")), &q); err != nil {
			t.Fatal(err)
		}
		all := true
		for _, m := range q {
			all = all && len(m.Rcpts) == 1 && m.Rcpts[0].Addr == "friend@example.org"
		}
		if !all {
			t.Fatalf("the queue holds more than the outside messages: %+v", q)
		}
		if len(q) == 4 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the queue holds %d messages for friend@example.org, want 4", len(q))
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestSendmailWithoutOwnerWaits: with nobody to receive the machine's mail (no [alerts] to,
// no postmaster@), a message to root is neither bounced nor relayed: it waits in pickup,
// the log says what to configure, and once postmaster@ exists a restart delivers it.
// Also for a message left in the maildrop while the daemon was down.
func TestSendmailWithoutOwnerWaits(t *testing.T) {
	t.Parallel()
	as, _ := asNobody(t)
	s := smOwnerServer(t, false)
	r := runCLI(t, s.Config, "Subject: smartd, up\n\ndisk failing\n", as, "sendmail", "-v", "root")
	if r.Code != 0 || !strings.Contains(r.Stderr, "deferred") || !strings.Contains(r.Stderr, "postern alias add postmaster@example.test") {
		t.Fatalf("sendmail root without an owner: exit %d: %s", r.Code, r.Stderr)
	}
	if !smLogHas(s.Log(), "recipient waits", "root@mail.example.test", "postern alias add postmaster@example.test") {
		t.Error("the log does not say what to configure")
	}
	s.Stop()
	smSend(t, s, as, "upsmon, down", "nut@localhost")
	s.Start()
	pickup, drop := filepath.Join(s.StateDir, "pickup"), filepath.Join(s.StateDir, "maildrop")
	deadline := time.Now().Add(15 * time.Second)
	for {
		p, _ := os.ReadDir(pickup)
		d := maildropFiles(t, drop)
		if len(p) == 2 && len(d) == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("pickup holds %v and the maildrop %v; want both messages waiting in pickup", p, d)
		}
		time.Sleep(50 * time.Millisecond)
	}
	for _, u := range []string{"alice@example.test", "ops@example.test"} {
		if n := len(rxFiles(t, rxUserDir(s, u))); n != 0 {
			t.Errorf("%s has %d messages (a bounce?) while root's mail waits", u, n)
		}
	}
	if q := s.MustCLI("queue", "list"); q != "Mail queue is empty\n" {
		t.Errorf("waiting mail went to the relay queue:\n%s", q)
	}

	s.MustCLI("alias", "add", "postmaster@example.test", "ops@example.test")
	s.Restart()
	for _, subj := range []string{"smartd, up", "upsmon, down"} {
		smWaitFile(t, rxUserDir(s, "ops@example.test"), subj)
	}
	deadline = time.Now().Add(15 * time.Second)
	for {
		if p, _ := os.ReadDir(pickup); len(p) == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("pickup not emptied after delivery")
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestSendmailRecipientHeaderInjection: a recipient or sender carrying a line break, which
// would add a header line to the Received line or a Bcc:, is refused, over the socket and
// from the maildrop; nothing is delivered or relayed.
func TestSendmailRecipientHeaderInjection(t *testing.T) {
	t.Parallel()
	as, _ := asNobody(t)
	s := smOwnerServer(t, true)
	evil := []string{"root\r\nBcc: friend@example.org", "root\nX-Injected: yes", "nut@localhost>\r\n\r\nbody"}
	for _, rcpt := range evil {
		r := runCLI(t, s.Config, "Subject: inject\n\nx\n", as, "sendmail", rcpt)
		if r.Code != 67 {
			t.Errorf("recipient %q: exit %d, want 67 (refused): %s", rcpt, r.Code, r.Stderr)
		}
	}
	r := runCLI(t, s.Config, "Subject: inject\n\nx\n", as, "sendmail", "-f", "nut@localhost\r\nBcc: friend@example.org", "alice")
	if r.Code != 65 {
		t.Errorf("sender with a line break: exit %d, want 65: %s", r.Code, r.Stderr)
	}
	// From the maildrop: refused at delivery, the bounce goes to the sender, nut@HOSTNAME,
	// which is the owner's.
	s.Stop()
	for _, rcpt := range evil {
		smSend(t, s, as, "inject, down", rcpt)
	}
	s.Start()
	ops := rxUserDir(s, "ops@example.test")
	deadline := time.Now().Add(15 * time.Second)
	for len(rxFindSubject(t, ops, "Undelivered Mail Returned to Sender")) < len(evil) {
		if time.Now().After(deadline) {
			t.Fatalf("the owner has %d bounces, want %d", len(rxFindSubject(t, ops, "Undelivered Mail Returned to Sender")), len(evil))
		}
		time.Sleep(50 * time.Millisecond)
	}
	for _, u := range []string{"alice@example.test", "ops@example.test"} {
		for _, f := range rxFiles(t, rxUserDir(s, u)) {
			data, _ := os.ReadFile(f)
			if h := rxHeader(t, f); len(h["x-injected"]) > 0 || len(h["bcc"]) > 0 || rxSubjectIs(h, "inject") {
				t.Errorf("%s got an injected message:\n%s", u, data)
			}
		}
	}
	if q := s.MustCLI("queue", "list"); q != "Mail queue is empty\n" {
		t.Errorf("something was relayed:\n%s", q)
	}
}

func rxSubjectIs(h map[string][]string, subject string) bool {
	return len(h["subject"]) == 1 && h["subject"][0] == subject
}
