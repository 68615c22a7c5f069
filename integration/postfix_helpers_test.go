package integration

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"net/smtp"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// postfixPeer is a private Postfix instance run for one test: its own config, queue and
// data directories under one temp dir, one smtpd on 127.0.0.1 at a port of its own, no
// local delivery. It plays the other MTA: the sending server on the internet, or the MTA
// that hands mail to our LMTP socket.
//
// Postfix needs root to start (the master drops privileges to the postfix user), the
// postfix user and postdrop group that Debian's package creates, a root-owned queue
// directory and every parent directory searchable by the postfix user, so the instance
// lives under a 0755 directory of its own rather than under t.TempDir (0700).
type postfixPeer struct {
	t       testing.TB
	root    string
	confDir string
	logFile string
	// Addr is Postfix's smtpd, "127.0.0.1:PORT".
	Addr string
}

// postfixOptions are the parts of main.cf a test chooses.
type postfixOptions struct {
	// Main holds extra main.cf lines (relayhost, virtual_transport...).
	Main []string
}

// needPostfix checks for the Postfix programs and for root, which `postfix start` needs.
// Outside CI a missing piece skips the test; under CI=true it fails it.
func needPostfix(t testing.TB) {
	t.Helper()
	for _, tool := range []string{"postfix", "postqueue", "postconf"} {
		needTool(t, tool)
	}
	needRoot(t, "the Postfix peer (postfix start)")
	if _, err := user.Lookup("postfix"); err != nil {
		t.Fatalf("Postfix is installed but the postfix user is missing: %v", err)
	}
}

// startPostfix writes a configuration, runs `postfix check` and `postfix start`, and waits
// until the smtpd answers with a 220 banner. The instance is stopped when the test ends.
func startPostfix(t testing.TB, o postfixOptions) *postfixPeer {
	t.Helper()
	needPostfix(t)
	root, err := os.MkdirTemp("", "pfx")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(root, 0o755); err != nil {
		t.Fatal(err)
	}
	p := &postfixPeer{t: t, root: root, confDir: filepath.Join(root, "etc"), logFile: filepath.Join(root, "log", "postfix.log")}
	queueDir, dataDir := filepath.Join(root, "spool"), filepath.Join(root, "lib")
	for _, d := range []string{p.confDir, queueDir, dataDir, filepath.Dir(p.logFile)} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	pf, _ := user.Lookup("postfix")
	uid, _ := strconv.Atoi(pf.Uid)
	gid, _ := strconv.Atoi(pf.Gid)
	if err := os.Chown(dataDir, uid, gid); err != nil {
		t.Fatal(err)
	}
	port := reservePort(t)
	p.Addr = fmt.Sprintf("127.0.0.1:%d", port)

	main := []string{
		"compatibility_level = 3.6",
		"queue_directory = " + queueDir,
		"data_directory = " + dataDir,
		"maillog_file = " + p.logFile,
		"maillog_file_prefixes = " + root,
		"myhostname = relay.client.test",
		"mydomain = client.test",
		"myorigin = $myhostname",
		// No local delivery: nothing is ours, no aliases, no local recipients.
		"mydestination =",
		"local_recipient_maps =",
		"local_transport = error:no local delivery in this test",
		"alias_maps =",
		"alias_database =",
		"inet_interfaces = 127.0.0.1",
		"inet_protocols = ipv4",
		"mynetworks = 127.0.0.0/8",
		"smtpd_relay_restrictions = permit_mynetworks, reject_unauth_destination",
		"biff = no",
		"append_dot_mydomain = no",
		// A deferral is retried within the test's deadline, not after Postfix's minutes.
		"queue_run_delay = 1s",
		"minimal_backoff_time = 1s",
		"maximal_backoff_time = 2s",
	}
	main = append(main, o.Main...)
	p.writeFile("main.cf", strings.Join(main, "\n")+"\n")
	// The chroot column is "n" everywhere so that absolute socket paths work.
	p.writeFile("master.cf", fmt.Sprintf(`%s inet n - n - - smtpd
pickup    unix  n - n 60    1 pickup
cleanup   unix  n - n -     0 cleanup
qmgr      unix  n - n 300   1 qmgr
tlsmgr    unix  - - n 1000? 1 tlsmgr
rewrite   unix  - - n -     - trivial-rewrite
bounce    unix  - - n -     0 bounce
defer     unix  - - n -     0 bounce
trace     unix  - - n -     0 bounce
verify    unix  - - n -     1 verify
flush     unix  n - n 1000? 0 flush
proxymap  unix  - - n -     - proxymap
smtp      unix  - - n -     - smtp
relay     unix  - - n -     - smtp
showq     unix  n - n -     - showq
error     unix  - - n -     - error
retry     unix  - - n -     - error
discard   unix  - - n -     - discard
lmtp      unix  - - n -     - lmtp
anvil     unix  - - n -     1 anvil
scache    unix  - - n -     1 scache
postlog   unix-dgram n - n - 1 postlogd
`, p.Addr))

	p.mustRun("postfix", "-c", p.confDir, "check")
	p.mustRun("postfix", "-c", p.confDir, "start")
	t.Cleanup(p.stop)
	if err := pfWaitBanner(p.Addr, 30*time.Second); err != nil {
		p.dumpLog()
		t.Fatalf("postfix smtpd on %s: %v", p.Addr, err)
	}
	return p
}

func (p *postfixPeer) writeFile(name, body string) {
	p.t.Helper()
	if err := os.WriteFile(filepath.Join(p.confDir, name), []byte(body), 0o644); err != nil {
		p.t.Fatal(err)
	}
}

// run runs a Postfix command with a deadline and returns its combined output.
func (p *postfixPeer) run(name string, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, name, args...).CombinedOutput()
	if err != nil {
		return string(out), fmt.Errorf("%s %s: %w\n%s", name, strings.Join(args, " "), err, out)
	}
	return string(out), nil
}

func (p *postfixPeer) mustRun(name string, args ...string) string {
	p.t.Helper()
	out, err := p.run(name, args...)
	if err != nil {
		p.dumpLog()
		p.t.Fatal(err)
	}
	return out
}

// QueueLen is the number of messages in Postfix's queue (postqueue -j prints one JSON
// object per message).
func (p *postfixPeer) QueueLen() (int, error) {
	out, err := p.run("postqueue", "-c", p.confDir, "-j")
	if err != nil {
		return 0, err
	}
	n := 0
	for _, line := range strings.Split(out, "\n") {
		if strings.HasPrefix(strings.TrimSpace(line), "{") {
			n++
		}
	}
	return n, nil
}

// Flush asks Postfix to retry every deferred message now.
func (p *postfixPeer) Flush() {
	p.t.Helper()
	p.mustRun("postqueue", "-c", p.confDir, "-f")
}

// Queue is `postqueue -p`, for failure messages.
func (p *postfixPeer) Queue() string {
	out, _ := p.run("postqueue", "-c", p.confDir, "-p")
	return out
}

// LogLines returns Postfix's log lines that contain substr.
func (p *postfixPeer) LogLines(substr string) []string {
	f, err := os.Open(p.logFile)
	if err != nil {
		return nil
	}
	defer f.Close()
	var lines []string
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64*1024), 1024*1024)
	for sc.Scan() {
		if strings.Contains(sc.Text(), substr) {
			lines = append(lines, sc.Text())
		}
	}
	return lines
}

// dumpLog puts the tail of Postfix's log into the test log, to explain a failure.
func (p *postfixPeer) dumpLog() {
	lines := p.LogLines("")
	if len(lines) > 60 {
		lines = lines[len(lines)-60:]
	}
	for _, l := range lines {
		p.t.Log("postfix: " + l)
	}
}

// stop runs `postfix stop`, waits for the master to exit (killing it after a deadline so
// no stray instance outlives the test), then removes the instance's directory.
func (p *postfixPeer) stop() {
	if p.t.Failed() {
		p.dumpLog()
		p.t.Log("postfix queue at the end:\n" + p.Queue())
	}
	pid := p.masterPID()
	if _, err := p.run("postfix", "-c", p.confDir, "stop"); err != nil {
		p.t.Log(err)
	}
	if pid > 0 {
		deadline := time.Now().Add(15 * time.Second)
		for syscall.Kill(pid, 0) == nil && time.Now().Before(deadline) {
			time.Sleep(50 * time.Millisecond)
		}
		if syscall.Kill(pid, 0) == nil {
			p.t.Errorf("postfix master %d did not stop; killing it", pid)
			_ = syscall.Kill(pid, syscall.SIGKILL)
		}
	}
	// The master's children may still be finishing a write into the queue or the log
	// for a moment after the master is gone; retry the removal briefly.
	var err error
	for i := 0; i < 50; i++ {
		if err = os.RemoveAll(p.root); err == nil {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	p.t.Logf("removing the postfix instance: %v", err)
}

func (p *postfixPeer) masterPID() int {
	b, err := os.ReadFile(filepath.Join(p.root, "spool", "pid", "master.pid"))
	if err != nil {
		return 0
	}
	pid, _ := strconv.Atoi(strings.TrimSpace(string(b)))
	return pid
}

// pfWaitBanner polls addr until a connection gets a 220 greeting, with a short interval
// and an overall deadline.
func pfWaitBanner(addr string, within time.Duration) error {
	deadline := time.Now().Add(within)
	var last error
	for time.Now().Before(deadline) {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			_ = c.SetDeadline(time.Now().Add(5 * time.Second))
			line, rerr := bufio.NewReader(c).ReadString('\n')
			c.Close()
			if rerr == nil && strings.HasPrefix(line, "220") {
				return nil
			}
			last = fmt.Errorf("greeting %q: %v", line, rerr)
		} else {
			last = err
		}
		time.Sleep(50 * time.Millisecond)
	}
	return fmt.Errorf("no 220 within %v: %w", within, last)
}

// pfPollUntil calls check every interval until it reports done, or fails the test at the
// deadline with check's last description of what it is still waiting for.
func pfPollUntil(t testing.TB, within, interval time.Duration, check func() (bool, string)) {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		done, state := check()
		if done {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("still not done after %v: %s", within, state)
		}
		time.Sleep(interval)
	}
}

// pfMessageID is the Message-ID of message i of a run; the tests find every message
// again by it.
func pfMessageID(run string, i int) string {
	return fmt.Sprintf("<%s.%d@itest.client.test>", run, i)
}

// pfSendBatch submits n messages (4 KiB bodies, distinct Message-IDs from pfMessageID)
// to the SMTP server at addr over the given number of parallel sessions, several
// messages per session. Every message must get a 250.
func pfSendBatch(t testing.TB, addr, run, from, rcpt string, n, sessions int) {
	t.Helper()
	errs := make(chan error, sessions)
	var wg sync.WaitGroup
	for s := 0; s < sessions; s++ {
		wg.Add(1)
		go func(s int) {
			defer wg.Done()
			var ids []int
			for i := s; i < n; i += sessions {
				ids = append(ids, i)
			}
			if err := pfSendSession(addr, run, from, rcpt, ids); err != nil {
				errs <- fmt.Errorf("session %d: %w", s, err)
			}
		}(s)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if t.Failed() {
		t.FailNow()
	}
}

func pfSendSession(addr, run, from, rcpt string, ids []int) error {
	c, err := smtp.Dial(addr)
	if err != nil {
		return err
	}
	defer c.Close()
	if err := c.Hello("client.test"); err != nil {
		return err
	}
	body := strings.Repeat(strings.Repeat("x", 76)+"\r\n", 4096/78)
	for _, i := range ids {
		if err := c.Mail(from); err != nil {
			return fmt.Errorf("message %d: MAIL: %w", i, err)
		}
		if err := c.Rcpt(rcpt); err != nil {
			return fmt.Errorf("message %d: RCPT: %w", i, err)
		}
		w, err := c.Data()
		if err != nil {
			return fmt.Errorf("message %d: DATA: %w", i, err)
		}
		fmt.Fprintf(w, "From: <%s>\r\nTo: <%s>\r\nSubject: postfix peer %s %d\r\nMessage-ID: %s\r\nDate: %s\r\n\r\n%s",
			from, rcpt, run, i, pfMessageID(run, i), time.Now().Format(time.RFC1123Z), body)
		if err := w.Close(); err != nil {
			return fmt.Errorf("message %d: end of DATA: %w", i, err)
		}
	}
	return c.Quit()
}

// pfMaildirCount counts the message files in a Maildir's new/ and cur/ (INBOX only).
func pfMaildirCount(root string) int {
	n := 0
	for _, sub := range []string{"new", "cur"} {
		ents, err := os.ReadDir(filepath.Join(root, sub))
		if err != nil {
			continue
		}
		for _, e := range ents {
			if !e.IsDir() {
				n++
			}
		}
	}
	return n
}

// pfMessage is what the tests check in one delivered file.
type pfMessage struct {
	Path     string
	Received []string // unfolded Received headers, topmost first
	Headers  map[string]string
}

// pfReadMaildir parses the header of every message in INBOX (new/ and cur/) and indexes
// them by Message-ID; a Message-ID seen twice is a duplicate delivery and is returned in
// dups.
func pfReadMaildir(t testing.TB, root string) (byID map[string]pfMessage, dups []string) {
	t.Helper()
	byID = map[string]pfMessage{}
	for _, sub := range []string{"new", "cur"} {
		ents, err := os.ReadDir(filepath.Join(root, sub))
		if err != nil && !errors.Is(err, os.ErrNotExist) {
			t.Fatal(err)
		}
		for _, e := range ents {
			path := filepath.Join(root, sub, e.Name())
			m, err := pfReadHeader(path)
			if err != nil {
				t.Fatal(err)
			}
			id := m.Headers["message-id"]
			if _, seen := byID[id]; seen {
				dups = append(dups, id)
				continue
			}
			byID[id] = m
		}
	}
	return byID, dups
}

// pfReadHeader reads a message file's header section, unfolding continuation lines.
func pfReadHeader(path string) (pfMessage, error) {
	f, err := os.Open(path)
	if err != nil {
		return pfMessage{}, err
	}
	defer f.Close()
	m := pfMessage{Path: path, Headers: map[string]string{}}
	var fields []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimRight(sc.Text(), "\r")
		if line == "" {
			break
		}
		if (line[0] == ' ' || line[0] == '\t') && len(fields) > 0 {
			fields[len(fields)-1] += " " + strings.TrimSpace(line)
			continue
		}
		fields = append(fields, line)
	}
	if err := sc.Err(); err != nil {
		return m, fmt.Errorf("%s: %w", path, err)
	}
	for _, f := range fields {
		name, value, ok := strings.Cut(f, ":")
		if !ok {
			continue
		}
		name, value = strings.ToLower(strings.TrimSpace(name)), strings.TrimSpace(value)
		if name == "received" {
			m.Received = append(m.Received, value)
		}
		if _, seen := m.Headers[name]; !seen {
			m.Headers[name] = value
		}
	}
	return m, nil
}

// pfChownGroup gives a unix socket to a group, so that a peer running as a member of
// it can connect (packaging puts the postfix user in the postern group; a test does it
// by hand).
func pfChownGroup(t testing.TB, path, group string) {
	t.Helper()
	g, err := user.LookupGroup(group)
	if err != nil {
		t.Fatal(err)
	}
	gid, _ := strconv.Atoi(g.Gid)
	if err := os.Chown(path, -1, gid); err != nil {
		t.Fatal(err)
	}
}
