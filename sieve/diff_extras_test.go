package sieve

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
)

// The outcome format shows where a message goes; editheader and enotify
// change what is stored and what is sent, so for scripts that require
// them the differential test also compares these "extras": every
// notification (method, importance, subject, from, recipients) and the
// header of every stored copy.

// ourExtras runs the script as runOutcome does and lists the extras.
func ourExtras(t *testing.T, script, msg []byte) []string {
	t.Helper()
	s, err := Compile("script", script, CompileOptions{})
	if err != nil {
		return nil
	}
	res, err := s.Execute(context.Background(), NewRawMessage(msg), Envelope{From: diffFrom, To: diffTo, User: diffTo}, ExecOptions{
		MailboxExists: func(_ context.Context, name string) bool {
			return strings.EqualFold(name, "INBOX") || name == "Archive"
		},
	})
	orig := normalizeHeader(headerOf(msg))
	if err != nil {
		// A failed run keeps the message as it came (no edits, no notifications).
		return []string{"header INBOX\n" + orig}
	}
	var out []string
	hdr := func(h []byte) string {
		if h == nil {
			return orig
		}
		return normalizeHeader(headerOf(h))
	}
	for _, a := range res.Actions {
		switch x := a.(type) {
		case Notify:
			out = append(out, notifyLine(x.Importance, x.Subject, x.From, x.To, x.Cc))
		case FileInto:
			out = append(out, "header "+x.Mailbox+"\n"+hdr(x.Header))
		case Keep:
			out = append(out, "header INBOX\n"+hdr(x.Header))
		}
	}
	if res.ImplicitKeep {
		out = append(out, "header INBOX\n"+hdr(res.ImplicitKeepHeader))
	}
	return dedupSorted(out)
}

func notifyLine(imp int, subject, from string, to, cc []string) string {
	return fmt.Sprintf("notify importance=%d subject=%q from=%q to=%v cc=%v", imp, subject, from, to, cc)
}

func dedupSorted(in []string) []string {
	sort.Strings(in)
	var out []string
	for i, s := range in {
		if i == 0 || s != in[i-1] {
			out = append(out, s)
		}
	}
	return out
}

func headerOf(msg []byte) string {
	s := strings.ReplaceAll(string(msg), "\r\n", "\n")
	if i := strings.Index(s, "\n\n"); i >= 0 {
		s = s[:i+1]
	}
	return s
}

func normalizeHeader(s string) string {
	return strings.TrimSuffix(strings.ReplaceAll(s, "\r\n", "\n"), "\n") + ""
}

var (
	notifyStart = regexp.MustCompile(`^ \* send notification with method '([^']*)':`)
	notifyField = regexp.MustCompile(`^    => (\w+)\s*: ?(.*)$`)
	notifyRcpt  = regexp.MustCompile(`^       \+ (To|Cc): (.*)$`)
)

// pigeonholeExtras reads the notifications from sieve-test's report and,
// running it again with -e, the header of every message it stored.
func pigeonholeExtras(t *testing.T, bin, conf, work string, script, msg []byte) ([]string, string) {
	t.Helper()
	dir, err := os.MkdirTemp(work, "extras")
	if err != nil {
		t.Fatal(err)
	}
	mustChmod(t, dir)
	sp, mp := filepath.Join(dir, "script.sieve"), filepath.Join(dir, "msg.eml")
	writeFile(t, sp, string(script))
	writeFile(t, mp, string(msg))
	folders := []string{""}
	for _, m := range regexp.MustCompile(`"([A-Za-z][A-Za-z/.]*)"`).FindAllStringSubmatch(string(script), -1) {
		folders = append(folders, "."+m[1])
	}
	for _, f := range folders {
		for _, sub := range []string{"cur", "new", "tmp"} {
			_ = os.MkdirAll(filepath.Join(dir, "mail", f, sub), 0o777)
		}
	}
	_ = exec.Command("chmod", "-R", "a+rwX", dir).Run()
	args := []string{"-c", conf, "-l", "maildir:" + filepath.Join(dir, "mail"), "-a", diffTo, "-f", diffFrom, "-r", diffTo, sp, mp}
	var out bytes.Buffer
	cmd := exec.Command(bin, args...)
	cmd.Stdout = &out
	_ = cmd.Run()
	var lines []string
	autoSubmitted := false
	for _, v := range NewRawMessage(msg).HeaderFields("auto-submitted") {
		autoSubmitted = autoSubmitted || !strings.EqualFold(strings.TrimSpace(v), "no")
	}
	rl := strings.Split(out.String(), "\n")
	for i := 0; i < len(rl); i++ {
		if !notifyStart.MatchString(rl[i]) {
			continue
		}
		imp, subject, from := 2, "", ""
		var to, cc []string
		for i++; i < len(rl) && strings.HasPrefix(rl[i], "    "); i++ {
			if m := notifyRcpt.FindStringSubmatch(rl[i]); m != nil {
				if m[1] == "To" {
					to = append(to, m[2])
				} else {
					cc = append(cc, m[2])
				}
			} else if m := notifyField.FindStringSubmatch(rl[i]); m != nil {
				switch m[1] {
				case "importance":
					fmt.Sscan(m[2], &imp)
				case "subject":
					subject = m[2]
				case "from":
					from = m[2]
				}
			}
		}
		i--
		// sieve-test lists the action; executing it (-e) sends nothing
		// for an auto-submitted message (RFC 5436 section 2.7).
		if !autoSubmitted {
			lines = append(lines, notifyLine(imp, subject, from, to, cc))
		}
	}
	var eout, eerr bytes.Buffer
	cmd = exec.Command(bin, append([]string{"-e"}, args...)...)
	cmd.Stdout, cmd.Stderr = &eout, &eerr
	_ = cmd.Run()
	for _, f := range folders {
		files, _ := filepath.Glob(filepath.Join(dir, "mail", f, "new", "*"))
		for _, p := range files {
			b, _ := os.ReadFile(p)
			name := strings.TrimPrefix(f, ".")
			if name == "" {
				name = "INBOX"
			}
			lines = append(lines, "header "+name+"\n"+normalizeHeader(headerOf(b)))
		}
	}
	return dedupSorted(lines), "--- sieve-test -e stderr:\n" + eerr.String()
}

func needsExtras(script []byte) bool {
	return bytes.Contains(script, []byte(`"editheader"`)) || bytes.Contains(script, []byte(`"enotify"`))
}

// compareExtras is called by TestDifferentialPigeonhole for each case.
func compareExtras(t *testing.T, name, bin, conf, work string, script, msg []byte) bool {
	t.Helper()
	if !needsExtras(script) {
		return true
	}
	ours := ourExtras(t, script, msg)
	theirs, detail := pigeonholeExtras(t, bin, conf, work, script, msg)
	if strings.Join(ours, "\n--\n") == strings.Join(theirs, "\n--\n") {
		return true
	}
	t.Errorf("%s: extras differ\n--- ours:\n%s\n--- pigeonhole:\n%s\n%s", name, strings.Join(ours, "\n"), strings.Join(theirs, "\n"), detail)
	return false
}
