package integration

import (
	"bufio"
	"crypto/tls"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestAuthLockout: 20 failed SMTP AUTH attempts from one address lock it out for the
// configured time, across protocols (IMAP refuses it too, even with the right password),
// and fail2ban's filter sees every failure.
func TestAuthLockout(t *testing.T) {
	t.Parallel()
	regex := needTool(t, "fail2ban-regex")
	s := NewServer(t, Options{Extra: "[limits]\nauth_failures_before_delay = 3\nauth_failures_before_lockout = 10\nauth_max_delay = \"50ms\"\nauth_lockout = \"10m\"\n"})
	rxSetup(t, s, "alice")
	var refused, locked int
	for i := 0; i < 20; i++ {
		out, code := sxSwaks(t, s.Addrs["submission"], append([]string{"--tls", "--quit-after", "AUTH"}, sxAuth("PLAIN", fmt.Sprintf("guess-%d", i))...)...)
		if code == 0 {
			t.Fatalf("attempt %d with a wrong password succeeded:\n%s", i, out)
		}
		switch {
		case strings.Contains(out, "535 5.7.8"):
			refused++
		case strings.Contains(out, "454 4.7.0"):
			locked++
		default:
			t.Fatalf("attempt %d: neither 535 nor 454:\n%s", i, out)
		}
	}
	if refused != 10 || locked != 10 {
		t.Fatalf("%d refused with 535 and %d locked out with 454; want 10 and 10", refused, locked)
	}
	// Locked out: the right password does not help, on SMTP or IMAP.
	if out, code := sxSwaks(t, s.Addrs["submission"], append([]string{"--tls", "--quit-after", "AUTH"}, sxAuth("PLAIN", strings.TrimSpace(rxPassword))...)...); code == 0 || !strings.Contains(out, "454 4.7.0") {
		t.Fatalf("the right password got through the lockout (exit %d):\n%s", code, out)
	}
	if resp := imapLoginReply(t, s.Addrs["imaps"], `alice@example.test "`+strings.TrimSpace(rxPassword)+`"`); !strings.HasPrefix(resp, "a1 NO") {
		t.Fatalf("IMAP login during the lockout: %q", resp)
	}

	s.Stop()
	logFile := filepath.Join(t.TempDir(), "postern.log")
	if err := os.WriteFile(logFile, []byte(strings.Join(s.Log(), "\n")+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	filter, _ := filepath.Abs("../packaging/fail2ban/filter.d/postern.conf")
	out, err := exec.Command(regex, "-o", "ip", logFile, filter).CombinedOutput()
	if err != nil {
		t.Fatalf("fail2ban-regex: %v\n%s", err, out)
	}
	n := 0
	for _, l := range strings.Split(string(out), "\n") {
		if strings.TrimSpace(l) == "127.0.0.1" {
			n++
		}
	}
	if n < 20 {
		t.Fatalf("fail2ban's filter matched %d failures from 127.0.0.1, want at least 20:\n%s", n, out)
	}
}

// imapLoginReply sends LOGIN over IMAPS and returns the tagged reply line (the session
// is left without LOGOUT; the server closes it when the connection goes).
func imapLoginReply(t testing.TB, addr, args string) string {
	t.Helper()
	c, err := tls.Dial("tcp", addr, &tls.Config{InsecureSkipVerify: true})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	rd := bufio.NewReader(c)
	if _, err := rd.ReadString('\n'); err != nil {
		t.Fatal(err)
	}
	fmt.Fprintf(c, "a1 LOGIN %s\r\n", args)
	for {
		l, err := rd.ReadString('\n')
		if err != nil {
			t.Fatalf("LOGIN: %v", err)
		}
		if strings.HasPrefix(l, "a1 ") {
			return strings.TrimSpace(l)
		}
	}
}
