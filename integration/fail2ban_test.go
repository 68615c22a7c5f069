package integration

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// TestFail2banFilter runs Debian's fail2ban-regex with packaging/fail2ban's filter over
// the real log of a server that saw failed logins over SMTP AUTH and IMAP (and
// successful ones, which must not match), in both machine log formats, written to a file
// and to the journal (stderr announced as the journal stream by JOURNAL_STREAM: every
// line must carry its priority; the lines are then given to the filter as fail2ban's
// systemd backend formats journal entries, since no journald runs here).
func TestFail2banFilter(t *testing.T) {
	t.Parallel()
	regex := needTool(t, "fail2ban-regex")
	filter, err := filepath.Abs("../packaging/fail2ban/filter.d/postern.conf")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, format string
		journal      bool
	}{{"logfmt", "logfmt", false}, {"json", "json", false}, {"journal-json", "json", true}, {"journal-logfmt", "logfmt", true}} {
		format := tc.format
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s := NewServer(t, Options{NoStart: true})
			s.Journal = tc.journal
			data, err := os.ReadFile(s.Config)
			if err != nil {
				t.Fatal(err)
			}
			doc := strings.Replace(string(data), `format = "logfmt"`, fmt.Sprintf("format = %q", format), 1)
			if err := os.WriteFile(s.Config, []byte(doc), 0o644); err != nil {
				t.Fatal(err)
			}
			s.Start()
			rxSetup(t, s, "alice")

			// Two failed SMTP AUTHs on submission, one that succeeds.
			for _, pw := range []string{"wrong one", `evil" client=192.0.2.66 status=fail`} {
				if out, code := sxSwaks(t, s.Addrs["submission"], append([]string{"--tls", "--quit-after", "AUTH"}, sxAuth("PLAIN", pw)...)...); code == 0 {
					t.Fatalf("AUTH with a wrong password succeeded:\n%s", out)
				}
			}
			if out, code := sxSwaks(t, s.Addrs["submission"], append([]string{"--tls", "--quit-after", "AUTH"}, sxAuth("PLAIN", strings.TrimSpace(rxPassword))...)...); code != 0 {
				t.Fatalf("AUTH with the right password failed:\n%s", out)
			}
			// Two failed IMAP logins (one with a user name that tries to inject an
			// address), one that succeeds.
			for _, login := range []string{`alice@example.test "nope"`, `"x client=192.0.2.66 " "nope"`, `alice@example.test "` + strings.TrimSpace(rxPassword) + `"`} {
				imapLogin(t, s.Addrs["imaps"], login)
			}

			logFile := filepath.Join(t.TempDir(), "postern.log")
			var lines []string
			for _, l := range s.Log() {
				if tc.journal {
					l = journalLine(t, l)
				}
				if strings.HasPrefix(l, "time=") || strings.HasPrefix(l, `{"time":`) {
					lines = append(lines, l)
				}
			}
			if tc.journal {
				// What fail2ban's systemd backend hands the filter: the entry's date, then
				// "HOSTNAME IDENTIFIER[PID]: MESSAGE" (formatJournalEntry).
				for i, l := range lines {
					lines[i] = "Dec  7 12:00:00 mail postern[4242]: " + l
				}
			}
			if err := os.WriteFile(logFile, []byte(strings.Join(lines, "\n")+"\n"), 0o644); err != nil {
				t.Fatal(err)
			}
			out, err := exec.Command(regex, "-o", "ip", logFile, filter).CombinedOutput()
			if err != nil {
				t.Fatalf("fail2ban-regex: %v\n%s", err, out)
			}
			var ips []string
			sc := bufio.NewScanner(strings.NewReader(string(out)))
			for sc.Scan() {
				if l := strings.TrimSpace(sc.Text()); l != "" {
					ips = append(ips, l)
				}
			}
			if want := []string{"127.0.0.1", "127.0.0.1", "127.0.0.1", "127.0.0.1"}; !slices.Equal(ips, want) {
				t.Errorf("fail2ban-regex matched %q, want %q (four failures from 127.0.0.1)", ips, want)
			}
		})
	}
}

// imapLogin opens an IMAPS session, sends LOGIN args and ignores the answer.
func imapLogin(t testing.TB, addr, args string) {
	t.Helper()
	imapLoginReply(t, addr, args)
}

// journalLine checks that a line the daemon wrote to the journal stream starts with the
// sd-daemon priority of its level and returns it as journald stores it (prefix removed).
func journalLine(t *testing.T, l string) string {
	t.Helper()
	prio := map[string]string{"DEBUG": "<7>", "INFO": "<6>", "WARN": "<4>", "ERROR": "<3>"}
	for level, p := range prio {
		if strings.Contains(l, "level="+level+" ") || strings.Contains(l, `"level":"`+level+`"`) {
			if !strings.HasPrefix(l, p) {
				t.Errorf("a %s line on the journal stream lacks %s: %q", level, p, l)
			}
			return strings.TrimPrefix(l, p)
		}
	}
	return l
}
