package integration

import (
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// This file checks issue 18's learning on move with Debian's rspamd (its
// controller worker, Bayes in Redis) and redis-server, both started here on
// free loopback ports with their own directories.

const learnPassword = "learn-s3cret" // not Debian's default "q1", which Rspamd refuses from non-secure IPs

// freeAddr is a reserved loopback address for Redis or Rspamd to bind (reservePort):
// neither can bind port 0 and tell us, and Rspamd is stopped and started again on it.
func freeAddr(t *testing.T) string {
	t.Helper()
	return fmt.Sprintf("127.0.0.1:%d", reservePort(t))
}

// peer is a daemon in its own process group that the test can stop and start.
type peer struct {
	t     *testing.T
	name  string
	argv  []string
	addr  string // polled with TCP connects for readiness
	cmd   *exec.Cmd
	done  chan struct{}
	out   *strings.Builder
	ready time.Duration
}

func (p *peer) start() {
	p.t.Helper()
	cmd := exec.Command(p.argv[0], p.argv[1:]...)
	p.out = &strings.Builder{}
	cmd.Stdout, cmd.Stderr = p.out, p.out
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.WaitDelay = 5 * time.Second
	if err := cmd.Start(); err != nil {
		p.t.Fatal(err)
	}
	p.cmd, p.done = cmd, make(chan struct{})
	go func() { cmd.Wait(); close(p.done) }()
	began := time.Now()
	deadline := began.Add(120 * time.Second)
	for {
		if c, err := net.DialTimeout("tcp", p.addr, time.Second); err == nil {
			c.Close()
			p.ready = time.Since(began)
			return
		}
		select {
		case <-p.done:
			p.t.Fatalf("%s exited:\n%s", p.name, p.out.String())
		case <-time.After(100 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			p.t.Fatalf("%s did not listen on %s within 120s:\n%s", p.name, p.addr, p.out.String())
		}
	}
}

func (p *peer) stop() {
	if p.cmd == nil {
		return
	}
	syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
	<-p.done
	p.cmd = nil
}

func startRedis(t *testing.T) string {
	addr := freeAddr(t)
	_, port, _ := net.SplitHostPort(addr)
	p := &peer{t: t, name: "redis-server", addr: addr, argv: []string{needTool(t, "redis-server"),
		"--port", port, "--bind", "127.0.0.1", "--dir", t.TempDir(), "--save", "", "--appendonly", "no"}}
	p.start()
	t.Cleanup(p.stop)
	return addr
}

// rspamdController prepares Rspamd with only a controller worker whose Bayes
// classifier keeps its tokens in the Redis at redisAddr.
func rspamdController(t *testing.T, redisAddr string) *peer {
	t.Helper()
	bin := needTool(t, "rspamd")
	dir := t.TempDir()
	addr := freeAddr(t)
	for _, d := range []string{"db", "run", "log", "local/local.d"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	conf := fmt.Sprintf(`.include "$CONFDIR/common.conf"
options {
    pidfile = "$RUNDIR/rspamd.pid";
    .include "$CONFDIR/options.inc"
}
logging { type = "console"; level = "error"; }
worker "controller" {
    bind_socket = "%s";
    password = "%s";
    count = 1;
}
`, addr, learnPassword)
	files := map[string]string{
		"rspamd.conf":                    conf,
		"local/local.d/redis.conf":       fmt.Sprintf("servers = %q;\n", redisAddr),
		"local/local.d/options.inc":      "dns { nameserver = [\"127.0.0.1:1\"]; timeout = 0.2s; retransmits = 1; }\n", // loopback only
		"local/local.d/fuzzy_check.conf": "enabled = false;\n",
	}
	for name, body := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	p := &peer{t: t, name: "rspamd", addr: addr, argv: []string{bin, "-f", "-i", "-c", filepath.Join(dir, "rspamd.conf"),
		"--var=DBDIR=" + filepath.Join(dir, "db"), "--var=RUNDIR=" + filepath.Join(dir, "run"),
		"--var=LOGDIR=" + filepath.Join(dir, "log"), "--var=LOCAL_CONFDIR=" + filepath.Join(dir, "local")}}
	t.Cleanup(p.stop)
	return p
}

// bayesLearned reads the controller's /stat: how many messages each Bayes
// statfile has learned (what `rspamc stat` prints as "learned").
func bayesLearned(t *testing.T, addr string) (spam, ham int) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, "http://"+addr+"/stat", nil)
	req.Header.Set("Password", learnPassword)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return -1, -1
	}
	defer resp.Body.Close()
	var st struct {
		Statfiles []struct {
			Symbol   string `json:"symbol"`
			Revision int    `json:"revision"`
		} `json:"statfiles"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&st); err != nil {
		t.Fatalf("/stat: %v", err)
	}
	for _, s := range st.Statfiles {
		switch s.Symbol {
		case "BAYES_SPAM":
			spam = s.Revision
		case "BAYES_HAM":
			ham = s.Revision
		}
	}
	return spam, ham
}

// waitBayes polls /stat until it shows spam and ham learned messages. Rspamd
// refreshes the Redis statistics it reports every few seconds.
func waitBayes(t *testing.T, addr string, spam, ham int) {
	t.Helper()
	deadline := time.Now().Add(150 * time.Second)
	for {
		s, h := bayesLearned(t, addr)
		if s == spam && h == ham {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("Rspamd's Bayes learned %d spam and %d ham, want %d and %d", s, h, spam, ham)
		}
		time.Sleep(500 * time.Millisecond)
	}
}

const learnIMAPScript = `
import imaplib, json, os, ssl, time
E = os.environ
c = ssl.create_default_context()
c.check_hostname, c.verify_mode = False, ssl.CERT_NONE
m = imaplib.IMAP4_SSL("127.0.0.1", int(E["IMAPS_PORT"]), ssl_context=c, timeout=30)
m.login(E["IMAP_USER"], E["IMAP_PASS"])
ACTION, SUBJ, SRC, DST = %q, %q, %q, %q
out = {}
if ACTION == "append":
    body = "From: promo@deals.example\r\nTo: alice@example.test\r\nSubject: %%s\r\nMessage-ID: <%%s@deals.example>\r\n\r\n%%s\r\n" %% (SUBJ, SUBJ.replace(" ", "-"), " ".join(["exclusive replica watches discount offer for you only today"] * 8))
    t0 = time.monotonic()
    typ, data = m.append(DST, None, None, body.encode())
    out["ms"] = (time.monotonic() - t0) * 1000
else:
    typ, data = m.select('"%%s"' %% SRC)
    assert typ == "OK", data
    typ, data = m.uid("SEARCH", "SUBJECT", '"%%s"' %% SUBJ)
    uids = data[0].split()
    assert len(uids) == 1, (SUBJ, SRC, data)
    t0 = time.monotonic()
    typ, data = m.uid("MOVE", uids[0], '"%%s"' %% DST)
    out["ms"] = (time.monotonic() - t0) * 1000
out["typ"] = typ
out["data"] = str(data)
m.logout()
print(json.dumps(out))
`

func TestSpamLearningWithRspamd(t *testing.T) {
	t.Parallel()
	py := needTool(t, "python3")
	redis := startRedis(t)
	rspamd := rspamdController(t, redis)
	rspamd.start()
	t.Logf("rspamd controller ready in %v", rspamd.ready)
	pwFile := filepath.Join(t.TempDir(), "rspamd.password")
	if err := os.WriteFile(pwFile, []byte(learnPassword+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	s := NewServer(t, Options{NoStart: true, Extra: fmt.Sprintf("[spam_learning]\ncontroller = %q\npassword_file = %q\n", "http://"+rspamd.addr, pwFile)})
	withListen(t, s, map[string]string{"metrics": "127.0.0.1:0"})
	rxSetup(t, s, "alice")
	for i, subj := range []string{"unwanted one", "unwanted three"} {
		// Distinct texts: Rspamd takes a second message with the same text as learned already.
		body := strings.Repeat([]string{"cheap replica watches limited offer click here to order now with free shipping ",
			"miracle pills lose weight fast doctors hate this trick buy two get one free "}[i], 6)
		if out, code := rxSwaks(t, s, "--from", "promo@deals.example", "--to", "alice@example.test",
			"--header", "Subject: "+subj, "--header", "Message-ID: <"+strings.ReplaceAll(subj, " ", "-")+"@deals.example>", "--body", body); code != 0 {
			t.Fatalf("swaks: %d\n%s", code, out)
		}
	}
	imapDo := func(action, subj, src, dst string) float64 {
		t.Helper()
		got := runIMAPScript(t, py, s, fmt.Sprintf(learnIMAPScript, action, subj, src, dst))
		if got["typ"] != "OK" {
			t.Fatalf("%s %q %s -> %s: %v", action, subj, src, dst, got)
		}
		return got["ms"].(float64)
	}
	learnLines := func(result string) []string {
		var out []string
		for _, l := range s.Log() {
			if strings.Contains(l, `msg="spam learn"`) && strings.Contains(l, "result="+result) {
				out = append(out, l)
			}
		}
		return out
	}
	// waitLearned waits for the n-th successful learn and returns its line.
	waitLearned := func(n int, kind string) string {
		t.Helper()
		deadline := time.Now().Add(90 * time.Second)
		for {
			if ls := learnLines("learned"); len(ls) >= n {
				if !strings.Contains(ls[n-1], "kind="+kind) {
					t.Fatalf("learn %d: %s, want kind=%s", n, ls[n-1], kind)
				}
				return ls[n-1]
			}
			if time.Now().After(deadline) {
				t.Fatalf("no learn %d within 90s:\n%s", n, strings.Join(learnLines(""), "\n"))
			}
			time.Sleep(50 * time.Millisecond)
		}
	}

	// INBOX -> Junk: one more learned spam.
	moveMS := imapDo("move", "unwanted one", "INBOX", "Junk")
	line := waitLearned(1, "spam")
	waitBayes(t, rspamd.addr, 1, 0)
	t.Logf("MOVE into Junk answered in %.1f ms; the learn: %s", moveMS, line)

	// Junk -> Trash teaches nothing; APPEND into Junk is spam; Junk -> INBOX is ham
	// (Rspamd relearns the message: spam goes back down, ham up).
	imapDo("move", "unwanted one", "Junk", "Trash")
	imapDo("append", "unwanted two", "", "Junk")
	waitLearned(2, "spam") // the append's
	waitBayes(t, rspamd.addr, 2, 0)
	imapDo("move", "unwanted two", "Junk", "INBOX")
	waitLearned(3, "ham")
	waitBayes(t, rspamd.addr, 1, 1)
	// Deferred lines are retries of one learn (Rspamd's controller once reset and
	// refused connections for seconds right after it answered ready): count the final
	// results only.
	var final []string
	for _, l := range learnLines("") {
		if !strings.Contains(l, "result=deferred") {
			final = append(final, l)
		}
	}
	if len(final) != 3 {
		t.Fatalf("%d final learn results, want 3 (move into Junk, append, move out; none for Junk to Trash):\n%s", len(final), strings.Join(learnLines(""), "\n"))
	}

	// Rspamd down: the MOVE is not slowed, the request waits, survives a restart
	// of postern, and arrives once Rspamd is back.
	rspamd.stop()
	downMS := imapDo("move", "unwanted three", "INBOX", "Junk")
	waitLogLine(t, s, 60*time.Second, `msg="spam learn"`, "result=deferred", "kind=spam")
	s.Stop()
	spool, _ := os.ReadDir(filepath.Join(s.StateDir, "spamlearn"))
	if len(spool) != 1 {
		t.Fatalf("%d requests in the spool with Rspamd down, want 1", len(spool))
	}
	rspamd.start()
	s.Start()
	waitLearned(4, "spam")
	waitBayes(t, rspamd.addr, 2, 1)
	t.Logf("MOVE into Junk with Rspamd down answered in %.1f ms", downMS)
	// The counters are the restarted daemon's: one spam learned since.
	if m := scrape(t, s); m[`postern_spam_learn_total{kind="spam",result="learned"}`] != 1 {
		t.Errorf("postern_spam_learn_total{kind=spam,result=learned} = %v after the restart, want 1", m[`postern_spam_learn_total{kind="spam",result="learned"}`])
	}
}
