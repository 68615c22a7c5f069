package integration

import (
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

// This file checks issue 8's milter with Rspamd from Debian on loopback: its proxy
// worker in milter mode with self_scan (no normal worker, no redis), GTUBE enabled.

const gtube = "XJS*C4JDBQADN1.NSBN3*2IDNEN*GTUBE-STANDARD-ANTI-UBE-TEST-EMAIL*C.34X"

// startRspamd runs rspamd in the foreground with a minimal config in a temp dir and
// returns the milter address once it accepts connections, and a stop function.
func startRspamd(t *testing.T) (string, func()) {
	t.Helper()
	bin := needTool(t, "rspamd")
	dir := t.TempDir()
	// A unix socket in the test's own directory: a TCP port picked by closing a
	// listener can be taken by another test before Rspamd binds it, and the dial
	// below would then find the other test's listener.
	sock := filepath.Join(dir, "milter.sock")
	conf := fmt.Sprintf(`.include "$CONFDIR/common.conf"
options {
    pidfile = "$RUNDIR/rspamd.pid";
    .include "$CONFDIR/options.inc"
    enable_test_patterns = true;
}
logging { type = "console"; level = "error"; }
worker "rspamd_proxy" {
    bind_socket = "%s mode=0666";
    milter = yes;
    timeout = 120s;
    upstream "local" { default = yes; self_scan = yes; }
    count = 1;
}
`, sock)
	for _, d := range []string{"db", "run", "log", "local"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(dir, "rspamd.conf"), []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	// X-Spam-Status on every message, also from a loopback client (which Rspamd
	// otherwise treats as local and leaves alone).
	if err := os.MkdirAll(filepath.Join(dir, "local", "local.d"), 0o755); err != nil {
		t.Fatal(err)
	}
	headers := "use = [\"x-spam-status\"];\nskip_local = false;\nskip_authenticated = false;\n"
	if err := os.WriteFile(filepath.Join(dir, "local", "local.d", "milter_headers.conf"), []byte(headers), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "-f", "-i", "-c", filepath.Join(dir, "rspamd.conf"),
		"--var=DBDIR="+filepath.Join(dir, "db"), "--var=RUNDIR="+filepath.Join(dir, "run"),
		"--var=LOGDIR="+filepath.Join(dir, "log"), "--var=LOCAL_CONFDIR="+filepath.Join(dir, "local"))
	var out strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &out
	// Rspamd forks workers that inherit the output pipe: run it in its own process
	// group and stop the whole group.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.WaitDelay = 5 * time.Second
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	go func() { cmd.Wait(); close(exited) }()
	stop := func() {
		syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		<-exited
	}
	t.Cleanup(stop)
	// Rspamd compiles its rules before it binds; wait for the socket, not for a log line.
	deadline := time.Now().Add(60 * time.Second)
	for {
		c, err := net.DialTimeout("unix", sock, time.Second)
		if err == nil {
			c.Close()
			return "unix:" + sock, stop
		}
		select {
		case <-exited:
			t.Fatalf("rspamd exited:\n%s", out.String())
		case <-time.After(100 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("rspamd did not listen on %s within 60s:\n%s", sock, out.String())
		}
	}
}

func TestMilterRspamd(t *testing.T) {
	t.Parallel()
	addr, stopRspamd := startRspamd(t)
	dnsSrv := startFakeDNS(t, false)
	milterCfg := func(action string) string {
		return fmt.Sprintf("[dns]\nservers = [%q]\n[milter]\naddress = %q\ndefault_action = %q\ntimeout = \"5s\"\n", dnsSrv.Addr, addr, action)
	}
	s := NewServer(t, Options{SMTP: "trusted_networks = []", Extra: milterCfg("accept")})
	st := NewServer(t, Options{SMTP: "trusted_networks = []", Extra: milterCfg("tempfail")})
	rxSetup(t, s, "alice")
	rxSetup(t, st, "alice")
	alice := rxUserDir(s, "alice@example.test")
	dir := t.TempDir()
	send := func(srv *Server, name, body string) (string, int) {
		t.Helper()
		msg := strings.Replace(string(trustMessage("sender.example", name)), "Hello.\r\n", body+"\r\n", 1)
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(msg), 0o644); err != nil {
			t.Fatal(err)
		}
		return rxSwaks(t, srv, "--from", "someone@sender.example", "--to", "alice@example.test", "--data", p)
	}

	out, code := send(s, "gtube", gtube)
	if code == 0 || !strings.Contains(out, "<** 554 5.7.1") {
		t.Fatalf("GTUBE: want 5xx at the end of DATA, exit %d:\n%s", code, out)
	}
	if got := rxFindSubject(t, alice, "gtube"); len(got) != 0 {
		t.Fatalf("GTUBE delivered: %v", got)
	}

	if out, code := send(s, "normal", "Hello, this is an ordinary message about lunch."); code != 0 {
		t.Fatalf("normal message refused, exit %d:\n%s", code, out)
	}
	// Should Rspamd score it as spam ("X-Spam: Yes"), the built-in Sieve rule files it
	// into Junk; either way it is delivered with the header Rspamd added.
	files := append(rxFindSubject(t, alice, "normal"), rxFindSubject(t, filepath.Join(alice, ".Junk"), "normal")...)
	if len(files) != 1 {
		t.Fatalf("normal message: want one delivered copy, got %v", files)
	}
	h := rxHeader(t, files[0])
	if st := h["x-spam-status"]; len(st) != 1 || !strings.Contains(st[0], "score=") {
		t.Errorf("no X-Spam-Status from Rspamd in the delivered message: %v", h)
	}
	if x := h["x-spam"]; len(x) > 0 && strings.EqualFold(x[0], "yes") && !strings.Contains(files[0], ".Junk") {
		t.Errorf("X-Spam: Yes but filed outside Junk: %s", files[0])
	}

	stopRspamd()
	if out, code := send(s, "down", "Rspamd is down."); code != 0 {
		t.Fatalf("default_action accept with Rspamd down: exit %d:\n%s", code, out)
	}
	if got := rxFindSubject(t, alice, "down"); len(got) != 1 {
		t.Errorf("default_action accept: want the message in INBOX, got %v", got)
	}
	out, code = send(st, "downtf", "Rspamd is down.")
	if code == 0 || !strings.Contains(out, "<** 451 4.7.1") {
		t.Fatalf("default_action tempfail with Rspamd down: want 451 4.7.1, exit %d:\n%s", code, out)
	}
}
