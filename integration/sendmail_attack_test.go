package integration

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// Attacks of one unprivileged local user (nobody) on the local submission surface and on
// another unprivileged user (daemon, uid 1): the socket flooded with connections and
// with list and verify requests, a forged trace header, and the maildrop: the victim's
// directory squatted before her first sendmail, with a FIFO and a symlink in it and its
// .bad name taken, and a sparse terabyte file. Each asserts the answer, that the daemon
// lives, that nothing of the victim's is read or lost, and the daemon's peak memory.

// asUser returns the process attributes that run a command as the named system user,
// outside every group, and its uid.
func asUser(t *testing.T, name string) (*syscall.SysProcAttr, int) {
	t.Helper()
	needRoot(t, "running commands as another user")
	u, err := user.Lookup(name)
	if err != nil {
		t.Fatal(err)
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	return &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid), Groups: []uint32{}}}, uid
}

// pythonForAll is a python3 that every user may run: the system's, not a root-only
// shim such as pyenv's under /root that needTool may find first on PATH.
func pythonForAll(t *testing.T) string {
	t.Helper()
	for _, p := range []string{"/usr/bin/python3", "/usr/local/bin/python3"} {
		if fi, err := os.Stat(p); err == nil && fi.Mode().Perm()&0o001 != 0 {
			return p
		}
	}
	if os.Getenv("CI") == "true" {
		t.Fatal("no python3 that other users may run (/usr/bin/python3); CI must install python3")
	}
	t.Skip("no python3 that other users may run")
	return ""
}

// waitSubject waits up to limit until dir holds exactly one message with subject.
func waitSubject(t *testing.T, dir, subject string, limit time.Duration) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for {
		switch got := rxFindSubject(t, dir, subject); {
		case len(got) > 1:
			t.Fatalf("%q delivered %d times", subject, len(got))
		case len(got) == 1:
			return
		case time.Now().After(deadline):
			t.Fatalf("%q never arrived in %s", subject, dir)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// socketFloodScript, run as the attacker: 1000 connections held open (how many the daemon
// answered at once, refused, and how many it keeps waiting for a request), then, told to
// go on, all closed and 150 list and 50 verify requests in a row: how many were
// answered, how many refused as temporary.
const socketFloodScript = `
import json, resource, socket, sys
soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, 4096), hard))
path = sys.argv[1]
held, refused, idle = [], 0, 0
for i in range(1000):
    s = socket.socket(socket.AF_UNIX)
    s.settimeout(10)
    s.connect(path)
    held.append(s)
for s in held:
    s.settimeout(0.3)
    try:
        if b"connections" in s.recv(4096):
            refused += 1
    except socket.timeout:
        idle += 1
print("held", refused, idle, flush=True)
sys.stdin.readline()
for s in held:
    s.close()
def ask(line):
    s = socket.socket(socket.AF_UNIX)
    s.settimeout(10)
    s.connect(path)
    s.sendall(line.encode() + b"\n")
    r = s.makefile().readline()
    s.close()
    return json.loads(r)
ok = limited = 0
for i in range(200):
    r = ask('{"v":1,"op":"list"}' if i < 150 else '{"v":1,"op":"verify","rcpts":["alice@example.test","x%d@example.test"]}' % i)
    if r.get("error"):
        # over the rate, or (the first ones) before the daemon saw the 8 close
        limited += r.get("temporary", False) and ("a minute" in r["error"] or "connections" in r["error"])
    else:
        ok += 1
print("asked", ok, limited, flush=True)
`

// TestSendmailSocketFloodAsNobody: nobody opens 1000 connections to the submission
// socket: 8 are kept, the rest refused at once as temporary; meanwhile another user's
// sendmail delivers at once and nobody's own sendmail keeps its message in the maildrop,
// delivered later; then of 200 list and verify requests the rate's 60 are answered and
// the rest refused as temporary. The daemon lives, logs the floods a few lines, and its
// peak memory grows by less than 64 MiB.
func TestSendmailSocketFloodAsNobody(t *testing.T) {
	t.Parallel()
	nobody, _ := asNobody(t)
	victim, _ := asUser(t, "daemon")
	py := pythonForAll(t)
	s := mqServer(t)
	inbox := rxUserDir(s, "alice@example.test")
	hwm := daemonHWM(t, s)

	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, py, "-c", socketFloodScript, filepath.Join(s.RuntimeDir, "submit.sock"))
	cmd.SysProcAttr = nobody
	stdin, _ := cmd.StdinPipe()
	stdout, _ := cmd.StdoutPipe()
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Wait()
	defer stdin.Close()
	lines := bufio.NewScanner(stdout)
	next := func(want string) []int {
		t.Helper()
		if !lines.Scan() {
			t.Fatalf("the flood script ended: %s", stderr.String())
		}
		f := strings.Fields(lines.Text())
		if len(f) != 3 || f[0] != want {
			t.Fatalf("flood script said %q, want %s", lines.Text(), want)
		}
		a, _ := strconv.Atoi(f[1])
		b, _ := strconv.Atoi(f[2])
		return []int{a, b}
	}
	if got := next("held"); got[0] != 992 || got[1] != 8 {
		t.Errorf("of 1000 connections %d were refused at once and %d kept waiting, want 992 and 8", got[0], got[1])
	}
	// While nobody holds its 8: the victim is served, nobody's own mail is kept.
	if r := runCLI(t, s.Config, "Subject: daemon during the flood\n\nhi\n", victim, "sendmail", "alice@example.test"); r.Code != 0 {
		t.Fatalf("the victim's sendmail during the flood: exit %d: %s", r.Code, r.Stderr)
	}
	smWaitFile(t, inbox, "daemon during the flood")
	if r := runCLI(t, s.Config, "Subject: nobody during the flood\n\nhi\n", nobody, "sendmail", "-v", "alice@example.test"); r.Code != 0 ||
		!strings.Contains(r.Stderr, "connections") || !strings.Contains(r.Stderr, "kept in") {
		t.Fatalf("nobody's sendmail over its connections: exit %d: %s; want 0, kept in the maildrop", r.Code, r.Stderr)
	}
	fmt.Fprintln(stdin)
	if got := next("asked"); got[0] != 60 || got[1] != 140 {
		t.Errorf("of 200 list and verify requests %d were answered and %d refused for the rate, want 60 and 140", got[0], got[1])
	}
	// The kept message goes out from the maildrop at a later scan (every 30 s).
	waitSubject(t, inbox, "nobody during the flood", 45*time.Second)
	s.MustCLI("status")
	var floodLines int
	for _, l := range s.Log() {
		if strings.Contains(l, "too many connections") || strings.Contains(l, "list or verify refused") {
			floodLines++
		}
	}
	if floodLines > 4 {
		t.Errorf("the floods made %d log lines, want a few", floodLines)
	}
	if grew := daemonHWM(t, s) - hwm; grew > 64<<10 {
		t.Errorf("VmHWM grew by %d KiB during the flood", grew)
	}
}

// TestSendmailForgedReceivedAsNobody: a message that brings its own Received line
// claiming root's uid still has ours on top, naming nobody's uid.
func TestSendmailForgedReceivedAsNobody(t *testing.T) {
	t.Parallel()
	nobody, uid := asNobody(t)
	s := mqServer(t)
	forged := "Received: by mail.example.test (Postern, from userid 0)\n\tid LFORGED; Mon, 7 Dec 2026 10:00:00 +0000\n" +
		"Subject: forged trace\n\nhi\n"
	if r := runCLI(t, s.Config, forged, nobody, "sendmail", "alice@example.test"); r.Code != 0 {
		t.Fatalf("sendmail: exit %d: %s", r.Code, r.Stderr)
	}
	data, err := os.ReadFile(smWaitFile(t, rxUserDir(s, "alice@example.test"), "forged trace"))
	if err != nil {
		t.Fatal(err)
	}
	msg := string(data)
	ours := strings.Index(msg, fmt.Sprintf("(Postern, from userid %d)", uid))
	theirs := strings.Index(msg, "(Postern, from userid 0)")
	if ours < 0 || theirs < ours || strings.Index(msg, "(Postern, from userid") != ours {
		t.Errorf("our trace line (nobody's uid) is not above the forged one:\n%s", msg)
	}
}

// TestSendmailMaildropAttackOnAnotherUser: with the daemon down nobody squats the
// victim's (daemon, uid 1) directory of the maildrop before her first sendmail, with a
// FIFO, a symlink to /etc/shadow and a planted message in it, and takes its .bad name
// first; in its own directory it leaves a sparse terabyte file. The victim's message is
// written beside, nobody can neither list the maildrop nor find it, mailq shows each
// only their own; once up the daemon delivers the victim's and nobody's own messages
// once, nothing planted, sets the squat aside beside the taken name, and lives with its
// memory bounded.
func TestSendmailMaildropAttackOnAnotherUser(t *testing.T) {
	t.Parallel()
	nobody, _ := asNobody(t)
	victim, vuid := asUser(t, "daemon")
	s := mqServer(t)
	drop := filepath.Join(s.StateDir, "maildrop")
	inbox := rxUserDir(s, "alice@example.test")
	s.Stop()
	if r := runCLI(t, s.Config, "Subject: nobody's own\n\nhi\n", nobody, "sendmail", "alice@example.test"); r.Code != 0 {
		t.Fatalf("nobody's sendmail, daemon down: exit %d: %s", r.Code, r.Stderr)
	}
	line := `{"v":1,"rcpts":["alice@example.test"],"size":30}`
	sq := filepath.Join(drop, strconv.Itoa(vuid))
	own := filepath.Join(drop, strconv.Itoa(65534))
	attack := fmt.Sprintf(`set -e
mkdir -m 2770 %[1]s %[1]s.bad
echo earlier > %[1]s.bad/x
mkfifo %[1]s/0000000000000001-fifo
ln -s /etc/shadow %[1]s/0000000000000002-link
printf '%%s\nSubject: planted by nobody\n\nx\n' '%[2]s' > %[1]s/0000000000000003-plant
printf '%%s\nSubject: sparse\n\nxxxxxxxxxxxxxxxxx\n' '%[2]s' > %[3]s/0000000000000004-sparse
truncate -s 1T %[3]s/0000000000000004-sparse
echo ok`, sq, line, own)
	if out := runTool(t, nobody, "sh", "-c", attack); !strings.Contains(out, "ok") {
		t.Fatalf("the attack: %s", out)
	}
	if r := runCLI(t, s.Config, "Subject: the victim's secret\n\nhi\n", victim, "sendmail", "alice@example.test"); r.Code != 0 {
		t.Fatalf("the victim's sendmail with its directory squatted: exit %d: %s", r.Code, r.Stderr)
	}
	// nobody looks for it.
	look := fmt.Sprintf("ls %[1]s; cat %[1]s/* 2>&1; grep -r -D skip secret %[1]s 2>&1; echo done", drop)
	if out := runTool(t, nobody, "sh", "-c", look); strings.Contains(out, "victim's secret") || !strings.Contains(out, "done") {
		t.Errorf("nobody found the victim's message:\n%s", out)
	}
	// mailq with the daemon down: nobody sees its own two (the squat is not its own
	// directory), the victim none of nobody's (hers waits beside, not listed).
	if r := runCLI(t, s.Config, "", nobody, "mailq"); !strings.Contains(r.Stdout, "in 2 Requests") || strings.Contains(r.Stdout, "daemon@") {
		t.Errorf("mailq as nobody with the daemon down: exit %d\n%s%s", r.Code, r.Stdout, r.Stderr)
	}
	if r := runCLI(t, s.Config, "", victim, "mailq"); strings.Contains(r.Stdout, "nobody@") {
		t.Errorf("mailq as the victim with the daemon down: exit %d\n%s%s", r.Code, r.Stdout, r.Stderr)
	}
	s.Start()
	hwm := daemonHWM(t, s)
	waitSubject(t, inbox, "the victim's secret", 15*time.Second)
	waitSubject(t, inbox, "nobody's own", 15*time.Second)
	waitSubject(t, inbox, "sparse", 15*time.Second)
	if n := len(rxFindSubject(t, inbox, "planted by nobody")); n != 0 {
		t.Errorf("the planted message was delivered %d times", n)
	}
	// The scan sets the squat aside once it reaches it (the users' directories come in
	// directory order, after the maildrop's own files).
	for deadline := time.Now().Add(15 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		entries, _ := os.ReadDir(drop)
		var aside []string
		for _, e := range entries {
			if strings.HasPrefix(e.Name(), strconv.Itoa(vuid)+".") {
				aside = append(aside, e.Name())
			}
		}
		if len(aside) == 2 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the maildrop holds %v, want the squat set aside beside the taken .bad", aside)
		}
	}
	if b, err := os.ReadFile(sq + ".bad/x"); err != nil || string(b) != "earlier\n" {
		t.Errorf("what was in the taken .bad name: %q %v", b, err)
	}
	if _, err := os.Stat(sq); err == nil {
		t.Error("the squat still holds the victim's name")
	}
	// The name is free: the victim's next message waits in her own directory.
	s.Stop()
	if r := runCLI(t, s.Config, "Subject: the victim again\n\nhi\n", victim, "sendmail", "alice@example.test"); r.Code != 0 {
		t.Fatalf("the victim's sendmail: exit %d: %s", r.Code, r.Stderr)
	}
	if fi, err := os.Stat(sq); err != nil || fi.Sys().(*syscall.Stat_t).Uid != uint32(vuid) {
		t.Errorf("the victim's directory: %v %v", fi, err)
	}
	if r := runCLI(t, s.Config, "", victim, "mailq"); !strings.Contains(r.Stdout, "alice@example.test") {
		t.Errorf("the victim's mailq, daemon down, lacks her message:\n%s%s", r.Stdout, r.Stderr)
	}
	if hwm > 256<<10 {
		t.Errorf("VmHWM %d KiB after the maildrop attack", hwm)
	}
}

// TestSendmailRewriteNoLoop: the owner's address is an alias back to a name of the
// machine (postmaster@ -> nut@HOSTNAME, which would be rewritten to the owner again):
// mail to root is rewritten once, to the owner, whose alias sends it to nut@HOSTNAME as
// given (relayed, there being no such local domain): one local submission, one queue
// entry, no loop; -bv says the same.
func TestSendmailRewriteNoLoop(t *testing.T) {
	t.Parallel()
	nobody, _ := asNobody(t)
	s := mqServer(t)
	s.MustCLI("alias", "add", "postmaster@example.test", "nut@mail.example.test")
	if r := runCLI(t, s.Config, "Subject: round and round\n\nhi\n", nobody, "sendmail", "root"); r.Code != 0 {
		t.Fatalf("sendmail root: exit %d: %s", r.Code, r.Stderr)
	}
	ids := mqQueueIDs(t, s, 1)
	if _, ok := ids["nut@mail.example.test"]; !ok {
		t.Errorf("the queue holds %v, want the alias's target nut@mail.example.test", ids)
	}
	var submissions int
	for _, l := range s.Log() {
		if strings.Contains(l, `msg="local submission"`) {
			submissions++
		}
	}
	if submissions != 1 {
		t.Errorf("%d local submissions logged, want 1", submissions)
	}
	if r := runCLI(t, s.Config, "", nil, "sendmail", "-bv", "root"); r.Code != 0 ||
		!strings.Contains(r.Stdout, "rewritten to postmaster@example.test; deliverable: forwarded to nut@mail.example.test") {
		t.Errorf("-bv root: exit %d\n%s%s", r.Code, r.Stdout, r.Stderr)
	}
	mqQueueIDs(t, s, 1)
}
