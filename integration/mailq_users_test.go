package integration

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// mqRefusingRelay is a smart host that takes each connection and closes it at once:
// every delivery attempt fails temporarily and the message stays in the queue. The
// listener stays bound for the whole test, so no other process can get its port.
func mqRefusingRelay(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	return ln.Addr().(*net.TCPAddr).Port
}

// mqServer is a server whose smart host refuses, with alice in example.test, its
// directories as a real install has them (state 0711: enter, not list).
func mqServer(t *testing.T) *Server {
	t.Helper()
	s := NewServer(t, Options{Extra: fmt.Sprintf("[relay]\nhost = \"127.0.0.1\"\nport = %d\ntls = \"none\"\n", mqRefusingRelay(t))})
	rxSetup(t, s, "alice")
	for _, d := range []string{filepath.Dir(s.Dir), s.Dir, s.StateDir} {
		if err := os.Chmod(d, 0o711); err != nil {
			t.Fatal(err)
		}
	}
	return s
}

// mqQueueIDs waits until the whole queue (root's view) holds n messages and returns
// their ids by first recipient.
func mqQueueIDs(t *testing.T, s *Server, n int) map[string]string {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		var q []smQueued
		if err := json.Unmarshal([]byte(s.MustCLI("queue", "list", "--json")), &q); err != nil {
			t.Fatal(err)
		}
		if len(q) == n {
			ids := map[string]string{}
			for _, m := range q {
				ids[m.Rcpts[0].Addr] = m.ID
			}
			return ids
		}
		if time.Now().After(deadline) {
			t.Fatalf("the queue holds %+v, want %d messages", q, n)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestMailqOwnMessages: mailq and sendmail -bp as a user outside group postern (nobody)
// list the messages nobody submitted and nothing of root's; root sees the whole queue.
// No verb shows nobody another's envelope.
func TestMailqOwnMessages(t *testing.T) {
	t.Parallel()
	as, _ := asNobody(t)
	s := mqServer(t)
	sm := func(attr *syscall.SysProcAttr, rcpt, subject string) {
		t.Helper()
		if r := runCLI(t, s.Config, "Subject: "+subject+"\n\nhello\n", attr, "sendmail", rcpt); r.Code != 0 {
			t.Fatalf("sendmail to %s as %v: exit %d: %s", rcpt, attr, r.Code, r.Stderr)
		}
	}
	sm(nil, "secret-friend@example.org", "root's")
	sm(as, "nobodys-friend@example.org", "nobody's")
	ids := mqQueueIDs(t, s, 2)
	rootID, nobodyID := ids["secret-friend@example.org"], ids["nobodys-friend@example.org"]

	for _, args := range [][]string{{"mailq"}, {"sendmail", "-bp"}} {
		r := runCLI(t, s.Config, "", as, args...)
		if r.Code != 0 {
			t.Fatalf("%v as nobody: exit %d: %s", args, r.Code, r.Stderr)
		}
		if !strings.Contains(r.Stdout, nobodyID) || !strings.Contains(r.Stdout, "nobodys-friend@example.org") ||
			!strings.Contains(r.Stdout, "-- 1 Kbytes in 1 Request.") {
			t.Errorf("%v as nobody does not list nobody's message %s:\n%s", args, nobodyID, r.Stdout)
		}
		if strings.Contains(r.Stdout, rootID) || strings.Contains(r.Stdout, "secret-friend") {
			t.Errorf("%v as nobody shows root's message:\n%s", args, r.Stdout)
		}
	}
	root := s.MustCLI("mailq")
	if !strings.Contains(root, rootID) || !strings.Contains(root, nobodyID) {
		t.Errorf("mailq as root does not list both:\n%s", root)
	}
	mqAttacks(t, s, as, rootID)

	// Daemon down: each sees their own messages waiting in the maildrop, and only those.
	s.Stop()
	sm(as, "nobody-down@example.org", "nobody's, down")
	sm(nil, "root-down@example.org", "root's, down")
	for _, args := range [][]string{{"mailq"}, {"sendmail", "-bp"}} {
		r := runCLI(t, s.Config, "", as, args...)
		if r.Code != 0 || !strings.Contains(r.Stdout, "nobody-down@example.org") || !strings.Contains(r.Stderr, "not running") {
			t.Errorf("%v as nobody, daemon down: exit %d\n%s%s", args, r.Code, r.Stdout, r.Stderr)
		}
		if strings.Contains(r.Stdout, "root-down") || strings.Contains(r.Stdout, "secret-friend") {
			t.Errorf("%v as nobody, daemon down, shows root's:\n%s", args, r.Stdout)
		}
	}
	if r := s.CLI("", "mailq"); r.Code != 0 || !strings.Contains(r.Stdout, "root-down@example.org") || strings.Contains(r.Stdout, "nobody-down") {
		t.Errorf("mailq as root, daemon down: exit %d\n%s%s", r.Code, r.Stdout, r.Stderr)
	}
	// Picked up, they are queued under their submitter's uid: nobody still sees theirs.
	s.Start()
	mqQueueIDs(t, s, 4)
	r := runCLI(t, s.Config, "", as, "mailq")
	if r.Code != 0 || !strings.Contains(r.Stdout, "nobody-down@example.org") || !strings.Contains(r.Stdout, "nobodys-friend@example.org") ||
		strings.Contains(r.Stdout, "root-down") || !strings.Contains(r.Stdout, "in 2 Requests") {
		t.Errorf("mailq as nobody after the pickup: exit %d\n%s%s", r.Code, r.Stdout, r.Stderr)
	}
}

// TestSendmailMaildropSquat: a user who makes root's directory of the maildrop (and plants
// a message in it) while the daemon is down gains nothing: root's sendmail writes beside
// it, root's message arrives, the planted one does not, and the daemon frees the name.
func TestSendmailMaildropSquat(t *testing.T) {
	t.Parallel()
	as, _ := asNobody(t)
	s := mqServer(t)
	drop := filepath.Join(s.StateDir, "maildrop")
	s.Stop()
	line := `{"v":1,"rcpts":["alice@example.test"],"size":30}`
	squat := fmt.Sprintf("mkdir -m 2770 %[1]s/0 && printf '%%s\nSubject: planted by nobody\n\nx\n' '%[2]s' > %[1]s/0/0000000000000001-aaaaaaaaaaaaaaaaaaaaaaaa",
		drop, line)
	if out := runTool(t, as, "sh", "-c", squat+" && echo ok"); !strings.Contains(out, "ok") {
		t.Fatalf("planting: %s", out)
	}
	if r := runCLI(t, s.Config, "Subject: root while squatted\n\nhi\n", nil, "sendmail", "alice@example.test"); r.Code != 0 {
		t.Fatalf("root's sendmail with its directory squatted: exit %d: %s", r.Code, r.Stderr)
	}
	s.Start()
	inbox := rxUserDir(s, "alice@example.test")
	smWaitFile(t, inbox, "root while squatted")
	deadline := time.Now().Add(15 * time.Second)
	for {
		if _, err := os.Stat(filepath.Join(drop, "0.bad")); err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the squatted directory was not set aside")
		}
		time.Sleep(50 * time.Millisecond)
	}
	if n := len(rxFindSubject(t, inbox, "planted by nobody")); n != 0 {
		t.Errorf("the message planted in root's directory was delivered (%d copies)", n)
	}
	// The name is free: root's next message waits in root's own directory.
	s.Stop()
	if r := runCLI(t, s.Config, "Subject: root again\n\nhi\n", nil, "sendmail", "alice@example.test"); r.Code != 0 {
		t.Fatalf("root's sendmail: exit %d: %s", r.Code, r.Stderr)
	}
	fi, err := os.Stat(filepath.Join(drop, "0"))
	if err != nil || fi.Sys().(*syscall.Stat_t).Uid != 0 {
		t.Errorf("root's directory of the maildrop: %v, %v", fi, err)
	}
}

// mqAttacks: nobody tries every way to see root's queued message: the admin verbs, and
// the submission socket with a forged uid or a list request that carries more.
func mqAttacks(t *testing.T, s *Server, as *syscall.SysProcAttr, rootID string) {
	t.Helper()
	for _, args := range [][]string{{"queue", "list", "--json"}, {"queue", "show", rootID}, {"queue", "list"}} {
		r := runCLI(t, s.Config, "", as, args...)
		if r.Code != 77 || strings.Contains(r.Stdout, "secret-friend") {
			t.Errorf("%v as nobody: exit %d, stdout %q; want 77 and nothing shown", args, r.Code, r.Stdout)
		}
	}
	py := pythonForAll(t) // needTool may find a shim nobody cannot run
	sock := filepath.Join(s.RuntimeDir, "submit.sock")
	for _, line := range []string{
		`{"v":1,"op":"list","uid":0}`,
		`{"v":1,"op":"list","prepared":true,"uid":0}`,
		`{"v":1,"op":"list","rcpts":["secret-friend@example.org"],"sender":"root"}`,
		`{"v":1,"op":"list","size":5}`,
		`{"v":1,"op":"show","rcpts":["` + rootID + `"]}`,
	} {
		script := fmt.Sprintf("import socket,sys\ns=socket.socket(socket.AF_UNIX)\ns.connect(%q)\ns.sendall(%q.encode()+b'\\n')\n"+
			"s.shutdown(socket.SHUT_WR)\nsys.stdout.write(s.makefile().read())\n", sock, line)
		r := runTool(t, as, py, "-c", script)
		if !strings.Contains(r, `"v":1`) {
			t.Errorf("nobody sent %s and got no reply (the attack did not run?): %s", line, r)
		}
		if strings.Contains(r, "secret-friend") || strings.Contains(r, rootID) {
			t.Errorf("nobody sent %s and got root's message: %s", line, r)
		}
	}
}

// runTool runs a program with attr (as another user) and returns what it printed.
func runTool(t *testing.T, attr *syscall.SysProcAttr, prog string, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, prog, args...)
	cmd.SysProcAttr = attr
	out, err := cmd.CombinedOutput()
	if ctx.Err() != nil {
		t.Fatalf("%s did not finish: %v", prog, err)
	}
	return string(out)
}

// TestSendmailVerify: sendmail -bv says how each address would be delivered and sends
// nothing: a user's mailbox, an alias (whose targets root sees and nobody does not), an
// outside address through the smart host, and an unknown local user (exit 67).
func TestSendmailVerify(t *testing.T) {
	t.Parallel()
	as, _ := asNobody(t)
	s := mqServer(t)
	s.MustCLI("alias", "add", "team@example.test", "alice@example.test", "secret-target@example.org")
	bv := func(attr *syscall.SysProcAttr, addrs ...string) CLIResult {
		t.Helper()
		return runCLI(t, s.Config, "", attr, append([]string{"sendmail", "-bv"}, addrs...)...)
	}
	for _, who := range []struct {
		name string
		attr *syscall.SysProcAttr
	}{{"root", nil}, {"nobody", as}} {
		r := bv(who.attr, "alice@example.test", "team@example.test", "friend@example.org")
		if r.Code != 0 {
			t.Fatalf("-bv as %s: exit %d\n%s%s", who.name, r.Code, r.Stdout, r.Stderr)
		}
		t.Logf("-bv as %s:\n%s", who.name, r.Stdout)
		lines := strings.Split(strings.TrimSpace(r.Stdout), "\n")
		if len(lines) != 3 || lines[0] != "alice@example.test... deliverable: local mailbox alice@example.test" ||
			!strings.HasPrefix(lines[1], "team@example.test... deliverable: ") ||
			!strings.HasPrefix(lines[2], "friend@example.org... deliverable: relayed via smart host 127.0.0.1:") {
			t.Errorf("-bv as %s:\n%s", who.name, r.Stdout)
		}
		if shows := strings.Contains(r.Stdout, "secret-target@example.org"); shows != (who.name == "root") {
			t.Errorf("-bv as %s shows the alias's targets: %v\n%s", who.name, shows, r.Stdout)
		}
		r = bv(who.attr, "alice@example.test", "nobody-here@example.test")
		if r.Code != 67 || !strings.Contains(r.Stdout, "nobody-here@example.test... undeliverable: 550 5.1.1") {
			t.Errorf("-bv of an unknown user as %s: exit %d\n%s%s", who.name, r.Code, r.Stdout, r.Stderr)
		}
	}
	// A name of the machine shows its rewrite: with nobody to receive root's mail it
	// cannot be delivered now (75); once postmaster@ exists it goes there.
	if r := bv(as, "root"); r.Code != 75 || !strings.Contains(r.Stdout, "root@mail.example.test... not deliverable now") {
		t.Errorf("-bv root without an owner: exit %d\n%s%s", r.Code, r.Stdout, r.Stderr)
	}
	s.MustCLI("alias", "add", "postmaster@example.test", "alice@example.test")
	if r := bv(nil, "root"); r.Code != 0 ||
		!strings.HasPrefix(r.Stdout, "root@mail.example.test... rewritten to postmaster@example.test; deliverable: local mailbox alice@example.test") {
		t.Errorf("-bv root as root with postmaster@: exit %d\n%s%s", r.Code, r.Stdout, r.Stderr)
	}
	if r := bv(as, "root"); r.Code != 0 || !strings.HasPrefix(r.Stdout, "root@mail.example.test... rewritten (") ||
		strings.Contains(r.Stdout, "postmaster") || strings.Contains(r.Stdout, "alice") {
		t.Errorf("-bv root as nobody shows where root's mail goes: exit %d\n%s%s", r.Code, r.Stdout, r.Stderr)
	}
	if n := len(rxFiles(t, rxUserDir(s, "alice@example.test"))); n != 0 {
		t.Errorf("-bv delivered %d messages to alice", n)
	}
	if q := s.MustCLI("mailq"); q != "Mail queue is empty\n" {
		t.Errorf("-bv queued something:\n%s", q)
	}
	s.Stop()
	if r := bv(as, "alice@example.test"); r.Code != 69 {
		t.Errorf("-bv with the daemon down: exit %d, want 69: %s", r.Code, r.Stderr)
	}
}

// maildropFiles lists the files waiting in the maildrop: its own and those in each
// user's directory (maildrop/UID), as paths relative to it.
func maildropFiles(t *testing.T, drop string) []string {
	t.Helper()
	entries, err := os.ReadDir(drop)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range entries {
		if !e.IsDir() {
			out = append(out, e.Name())
			continue
		}
		sub, err := os.ReadDir(filepath.Join(drop, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range sub {
			out = append(out, filepath.Join(e.Name(), f.Name()))
		}
	}
	return out
}
