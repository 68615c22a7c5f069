package sieve

import (
	"bytes"
	"context"
	"fmt"
	"mime"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
)

// The differential test runs every script of testdata/diff against every
// message of testdata/diff/msgs through Pigeonhole's sieve-test (Debian's
// dovecot-sieve) and through this package, and compares the outcomes in
// the format of sieve-outcome-format.md. It runs only with
// POSTERN_SIEVE_DIFF=1 and sieve-test installed: it needs a Dovecot
// configuration and a user to drop privileges to, which CI does not set up.

const (
	diffFrom = "alice@example.org"
	diffTo   = "me@example.net"
)

// diffPluginSettings enable in Pigeonhole the extensions it has but does
// not enable by default, and read spamtest's score from X-Spam-Score as
// our default does (max 15, Rspamd's reject score).
const diffPluginSettings = "  sieve_extensions = +spamtest +spamtestplus +virustest +editheader +special-use\n" +
	"  sieve_spamtest_status_type = score\n" +
	"  sieve_spamtest_status_header = X-Spam-Score: ^[[:space:]]*(-?[[:digit:]]+(\\.[[:digit:]]+)?)\n" +
	"  sieve_spamtest_max_value = 15\n"

func TestDifferentialPigeonhole(t *testing.T) {
	if os.Getenv("POSTERN_SIEVE_DIFF") != "1" {
		t.Skip("set POSTERN_SIEVE_DIFF=1 to compare with Pigeonhole's sieve-test")
	}
	bin, err := exec.LookPath("sieve-test")
	if err != nil {
		t.Fatalf("POSTERN_SIEVE_DIFF=1 but sieve-test is missing: %v", err)
	}
	scripts, _ := filepath.Glob("testdata/diff/*.sieve")
	msgs, _ := filepath.Glob("testdata/diff/msgs/*.eml")
	if len(scripts) == 0 || len(msgs) == 0 {
		t.Fatal("empty corpus")
	}
	work, err := os.MkdirTemp("", "sievediff")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(work)
	mustChmod(t, work)
	conf := filepath.Join(work, "dovecot.conf")
	writeFile(t, conf, "mail_uid = 65534\nmail_gid = 65534\nfirst_valid_uid = 1\nfirst_valid_gid = 1\n"+
		"plugin {\n  sieve = file:"+work+"/personal\n  sieve_global = "+work+"/global\n"+diffPluginSettings+"}\n")
	for _, d := range []string{"personal", "global"} {
		_ = os.MkdirAll(filepath.Join(work, d), 0o777)
	}
	// POSTERN_SIEVE_DIFF_MATCH (a regular expression over "script/message") narrows
	// the run while working on a few cases.
	only := regexp.MustCompile(os.Getenv("POSTERN_SIEVE_DIFF_MATCH"))
	// Each case waits mostly on a sieve-test process, so the cases run as parallel
	// subtests; the group returns when all of them have.
	var agree, total atomic.Int64
	t.Run("cases", func(t *testing.T) {
		for _, sp := range scripts {
			for _, mp := range msgs {
				name := strings.TrimSuffix(filepath.Base(sp), ".sieve") + "/" + strings.TrimSuffix(filepath.Base(mp), ".eml")
				if !only.MatchString(name) {
					continue
				}
				total.Add(1)
				t.Run(name, func(t *testing.T) {
					t.Parallel()
					if diffCase(t, name, bin, conf, work, sp, mp) {
						agree.Add(1)
					}
				})
			}
		}
	})
	t.Logf("differential: %d/%d agree", agree.Load(), total.Load())
}

// diffCase compares one script on one message with Pigeonhole and says whether
// the outcomes (and the extras, where the script has them) agree.
func diffCase(t *testing.T, name, bin, conf, work, sp, mp string) bool {
	script, _ := os.ReadFile(sp)
	msg, _ := os.ReadFile(mp)
	ours := runOutcome(t, script, msg, Envelope{From: diffFrom, To: diffTo, User: diffTo}, nil, "Archive")
	theirs, detail := pigeonholeOutcome(t, bin, conf, work, script, msg)
	if ours != theirs {
		t.Errorf("%s differs\n--- ours:\n%s--- pigeonhole:\n%s%s", name, ours, theirs, detail)
		return false
	}
	return compareExtras(t, name, bin, conf, work, script, msg)
}

func mustChmod(t *testing.T, dir string) {
	t.Helper()
	if err := os.Chmod(dir, 0o777); err != nil {
		t.Fatal(err)
	}
}

func writeFile(t *testing.T, path, s string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(s), 0o666); err != nil {
		t.Fatal(err)
	}
}

var mailboxLine = regexp.MustCompile(`^ \* store message in folder: (.*)$`)

// pigeonholeOutcome runs sieve-test and turns its report into the outcome
// format. The second result is the raw output for diagnostics.
func pigeonholeOutcome(t *testing.T, bin, conf, work string, script, msg []byte) (string, string) {
	t.Helper()
	dir, err := os.MkdirTemp(work, "run")
	if err != nil {
		t.Fatal(err)
	}
	mustChmod(t, dir)
	sp := filepath.Join(dir, "script.sieve")
	mp := filepath.Join(dir, "msg.eml")
	writeFile(t, sp, string(script))
	writeFile(t, mp, string(msg))
	for _, mb := range []string{"", ".Archive"} {
		for _, sub := range []string{"cur", "new", "tmp"} {
			p := filepath.Join(dir, "mail", mb, sub)
			_ = os.MkdirAll(p, 0o777)
		}
	}
	_ = exec.Command("chmod", "-R", "a+rwX", dir).Run()
	args := []string{"-c", conf, "-l", "maildir:" + filepath.Join(dir, "mail"), "-a", diffTo, "-f", diffFrom, "-r", diffTo, sp, mp}
	var out, errb bytes.Buffer
	cmd := exec.CommandContext(context.Background(), bin, args...)
	cmd.Stdout, cmd.Stderr = &out, &errb
	_ = cmd.Run()
	detail := "--- sieve-test stdout:\n" + out.String() + "--- stderr:\n" + errb.String()
	stderr := errb.String()
	if strings.Contains(stderr, "failed to compile sieve script") {
		return "error compile " + pigeonholeClass(stderr) + "\n", detail
	}
	if strings.Contains(stderr, ": error: ") || strings.Contains(stderr, "final result: failed") || strings.Contains(out.String(), "error: ") && !strings.Contains(out.String(), "Performed actions") {
		return "error runtime\nkeep\n", detail
	}
	var lines []string
	var cur *[]string // flags of the last store line
	type store struct {
		name  string
		flags []string
	}
	var stores []*store
	seconds := -1
	vacation := false
	reason := ""
	text := out.String()
	rl := strings.Split(text, "\n")
	for i := 0; i < len(rl); i++ {
		l := rl[i]
		switch {
		case mailboxLine.MatchString(l):
			s := &store{name: mailboxLine.FindStringSubmatch(l)[1]}
			stores = append(stores, s)
			cur = &s.flags
		case strings.HasPrefix(l, "        + add IMAP flags: ") && cur != nil:
			*cur = append(*cur, strings.Fields(strings.TrimPrefix(l, "        + add IMAP flags: "))...)
		case strings.HasPrefix(l, " * redirect message to: "):
			a := strings.Trim(strings.TrimPrefix(l, " * redirect message to: "), "<>")
			lines = append(lines, "redirect "+quoteJSON(a))
			cur = nil
		case l == " * discard":
			lines = append(lines, "discard")
			cur = nil
		case strings.HasPrefix(l, " * reject message with reason: "):
			lines = append(lines, "reject "+quoteJSON(normalizeText(strings.TrimPrefix(l, " * reject message with reason: "))))
			cur = nil
		case strings.HasPrefix(l, " * send vacation message:"):
			vacation = true
			cur = nil
		case strings.HasPrefix(l, "    => seconds : "):
			seconds, _ = strconv.Atoi(strings.TrimSpace(strings.TrimPrefix(l, "    => seconds : ")))
		case l == "START MESSAGE":
			var body []string
			for i++; i < len(rl) && rl[i] != "END MESSAGE"; i++ {
				body = append(body, rl[i])
			}
			reason = normalizeText(strings.Join(body, "\n"))
		case strings.HasPrefix(l, " * "):
			cur = nil
		}
	}
	inbox := false
	for _, s := range stores {
		if strings.EqualFold(s.name, "INBOX") {
			// The first INBOX store is the explicit one (the implicit
			// keep comes last) and its flags win.
			if inbox {
				continue
			}
			inbox = true
		}
		l := "fileinto " + quoteJSON(s.name)
		if strings.EqualFold(s.name, "INBOX") {
			l = "keep"
		}
		if f := formatFlags(s.flags); f != "" {
			l += " flags=" + f
		}
		lines = append(lines, l)
	}
	if vacation {
		from, subject, sent := pigeonholeVacationHeaders(t, bin, conf, dir, args)
		vacation = sent
		days := max(1, (seconds+86399)/86400)
		if sent {
			lines = append(lines, fmt.Sprintf("vacation to=%s from=%s subject=%s days=%d reason=%s",
				quoteJSON(diffFrom), quoteJSON(from), quoteJSON(subject), days, quoteJSON(reason)))
		}
	}
	sort.Strings(lines)
	var b strings.Builder
	prev := ""
	for i, l := range lines {
		if i > 0 && l == prev {
			continue
		}
		b.WriteString(l + "\n")
		prev = l
	}
	return b.String(), detail
}

// pigeonholeVacationHeaders runs sieve-test again with -e, which prints
// the reply message, to read its From and Subject.
func pigeonholeVacationHeaders(t *testing.T, bin, conf, dir string, args []string) (string, string, bool) {
	t.Helper()
	// Create every folder the script may file into so that -e succeeds.
	script, _ := os.ReadFile(args[len(args)-2])
	for _, m := range regexp.MustCompile(`"([A-Za-z/.]+)"`).FindAllStringSubmatch(string(script), -1) {
		for _, sub := range []string{"cur", "new", "tmp"} {
			_ = os.MkdirAll(filepath.Join(dir, "mail", "."+m[1], sub), 0o777)
		}
	}
	_ = exec.Command("chmod", "-R", "a+rwX", dir).Run()
	var out, errb bytes.Buffer
	cmd := exec.Command(bin, append([]string{"-e"}, args...)...)
	cmd.Stdout, cmd.Stderr = &out, &errb
	_ = cmd.Run()
	if !strings.Contains(errb.String(), "sent vacation response") {
		return "", "", false
	}
	var from, subject string
	in := false
	dec := mime.WordDecoder{}
	for _, l := range strings.Split(out.String(), "\n") {
		l = strings.TrimRight(l, "\r")
		if strings.HasPrefix(l, "Auto-Submitted: auto-replied") {
			in = true
		}
		if strings.HasPrefix(l, "From: ") && from == "" {
			from = l
		}
		if strings.HasPrefix(l, "Subject: ") {
			subject = l
		}
		if in {
			break
		}
	}
	if a := parseAddressList(strings.TrimPrefix(from, "From: ")); len(a) == 1 {
		from = a[0].local + "@" + strings.ToLower(a[0].domain)
	}
	subject = strings.TrimPrefix(subject, "Subject: ")
	if d, err := dec.DecodeHeader(subject); err == nil {
		subject = d
	}
	return from, subject, true
}

// pigeonholeClass maps Pigeonhole's first error message to an error class.
func pigeonholeClass(stderr string) string {
	first := ""
	for _, l := range strings.Split(stderr, "\n") {
		if strings.Contains(l, ": error: ") {
			first = strings.ToLower(l)
			break
		}
	}
	has := func(subs ...string) bool {
		for _, x := range subs {
			if strings.Contains(first, x) {
				return true
			}
		}
		return false
	}
	switch {
	case has("attempted to use command"):
		return "unknown-test"
	case has("attempted to use test"):
		return "unknown-command"
	case has("unknown comparator"), has("comparator") && has("unknown", "not known"):
		return "unknown-comparator"
	case has("unknown tagged argument"):
		return "unknown-tag"
	case has("unknown command"):
		return "unknown-command"
	case has("unknown test"):
		return "unknown-test"
	case has("require command", "unknown sieve capability", "require commands can only"):
		return "require"
	case has("include") && has("does not exist", "not found"):
		return "include"
	case has("is invalid", "invalid value"):
		return "argument"
	case has("syntax error", "parse error", "expected end of command", "end of file before", "unterminated",
		"does not accept a command block", "requires a command block", "requires one sub-test",
		"must follow an if", "if command requires 0 positional", "elsif command requires 0 positional",
		"requires a list of sub-tests", "unexpected", "missing semicolon", "expecting"):
		return "syntax"
	}
	return "argument"
}
