package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"io"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/postern/postern/localsubmit"
	"github.com/postern/postern/server/config"
)

func TestParseSendmailArgs(t *testing.T) {
	t.Parallel()
	str := func(s string) *string { return &s }
	tests := []struct {
		args       []string
		sender     *string
		name       string
		rcpts      []string
		extract    bool
		ignoreDots bool
	}{
		{[]string{"-t"}, nil, "", nil, true, false},
		{[]string{"-oi", "-t"}, nil, "", nil, true, true},
		{[]string{"-ti", "root"}, nil, "", []string{"root"}, true, true},
		{[]string{"-f", "nut@example.com", "-F", "UPS Monitor", "admin@example.com"}, str("nut@example.com"), "UPS Monitor", []string{"admin@example.com"}, false, false},
		{[]string{"-fbackup@example.com", "-FBorg", "-odi", "-oem", "-oee", "a@b.c", "d@e.f"}, str("backup@example.com"), "Borg", []string{"a@b.c", "d@e.f"}, false, false},
		{[]string{"-i", "--", "-odd@example.com"}, nil, "", []string{"-odd@example.com"}, false, true},
		{[]string{"-f", "<>", "-B", "8BITMIME", "-N", "never", "x@y.z"}, str("<>"), "", []string{"x@y.z"}, false, false},
		{[]string{"-r", "cron@example.com", "-v", "-m", "x@y.z"}, str("cron@example.com"), "", []string{"x@y.z"}, false, false},
	}
	for _, tt := range tests {
		sa, err := parseSendmailArgs(tt.args)
		if err != nil {
			t.Errorf("%v: %v", tt.args, err)
			continue
		}
		if (sa.req.Sender == nil) != (tt.sender == nil) || (tt.sender != nil && *sa.req.Sender != *tt.sender) ||
			sa.req.FullName != tt.name || !slices.Equal(sa.req.Rcpts, tt.rcpts) ||
			sa.req.ExtractRecipients != tt.extract || sa.ignoreDots != tt.ignoreDots {
			t.Errorf("%v: got %+v (sender %v) ignoreDots %v", tt.args, sa.req, sa.req.Sender, sa.ignoreDots)
		}
	}
	for _, bad := range [][]string{{"-bs"}, {"-f"}, {"-Z"}, {"-bd"}} {
		if _, err := parseSendmailArgs(bad); err == nil {
			t.Errorf("%v accepted", bad)
		}
	}
	if sa, _ := parseSendmailArgs([]string{"-bp"}); !sa.listQueue {
		t.Error("-bp does not list the queue")
	}
}

func TestReadSendmailMessage(t *testing.T) {
	t.Parallel()
	in := "Subject: x\n\nline\n.\nafter the dot\n"
	got, err := readSendmailMessage(strings.NewReader(in), false, 1000)
	if err != nil || string(got) != "Subject: x\n\nline\n" {
		t.Errorf("dot ends: %q %v", got, err)
	}
	got, err = readSendmailMessage(strings.NewReader(in), true, 1000)
	if err != nil || string(got) != in {
		t.Errorf("-i reads all: %q %v", got, err)
	}
	got, err = readSendmailMessage(strings.NewReader("a\r\n.\r\nb"), false, 1000)
	if err != nil || string(got) != "a\r\n" {
		t.Errorf("CRLF dot: %q %v", got, err)
	}
	got, err = readSendmailMessage(strings.NewReader("no newline at end"), false, 1000)
	if err != nil || string(got) != "no newline at end" {
		t.Errorf("no final newline: %q %v", got, err)
	}
	for _, dots := range []bool{false, true} {
		if _, err := readSendmailMessage(strings.NewReader(strings.Repeat("x\n", 600)), dots, 1000); err == nil {
			t.Errorf("ignoreDots=%v: over the limit accepted", dots)
		}
	}
}

// fakeSubmitDaemon answers the local submission protocol with reply and records what
// it was sent.
type fakeSubmitDaemon struct {
	got  chan localsubmit.Request
	msgs chan string
}

func startFakeSubmit(t *testing.T, cfgPath string, reply localsubmit.Reply) *fakeSubmitDaemon {
	t.Helper()
	cfg, err := config.Load(cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Dir(cfg.SubmitSocket()), 0o755); err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("unix", cfg.SubmitSocket())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	f := &fakeSubmitDaemon{got: make(chan localsubmit.Request, 1), msgs: make(chan string, 1)}
	go func() {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		br := bufio.NewReader(c)
		line, _ := br.ReadBytes('\n')
		var req localsubmit.Request
		json.Unmarshal(line, &req)
		body := make([]byte, req.Size)
		io.ReadFull(br, body)
		f.got <- req
		f.msgs <- string(body)
		b, _ := json.Marshal(reply)
		c.Write(append(b, '\n'))
	}()
	return f
}

func TestSendmailHandsOverToDaemon(t *testing.T) {
	t.Parallel()
	cfgPath := writeConfig(t, shortTempDir(t))
	f := startFakeSubmit(t, cfgPath, localsubmit.Reply{V: 1, ID: "L1", Accepted: []string{"root@mail.example.com"}})
	r := runCLI(t, "Subject: backup\n\nok\n.\nnot sent\n", nil, "--config", cfgPath, "sendmail", "-F", "Borg", "-oi", "root")
	if r.code != 0 || r.stderr != "" {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	req := <-f.got
	if req.FullName != "Borg" || !slices.Equal(req.Rcpts, []string{"root"}) || req.Sender != nil {
		t.Errorf("request %+v", req)
	}
	if body := <-f.msgs; body != "Subject: backup\n\nok\n.\nnot sent\n" {
		t.Errorf("-oi: body %q", body)
	}
}

func TestSendmailAsSymlinkReportsRefusedRecipients(t *testing.T) {
	t.Parallel()
	cfgPath := writeConfig(t, shortTempDir(t))
	startFakeSubmit(t, cfgPath, localsubmit.Reply{V: 1, ID: "L2",
		Failed: []localsubmit.RcptFailure{{Rcpt: "nobody@example.com", Reason: "550 5.1.1 User unknown"}}})
	var out, errb bytes.Buffer
	code := run([]string{"/usr/sbin/sendmail", "-t"}, strings.NewReader("To: nobody@example.com\n\nx\n"), &out, &errb,
		func(k string) string { return map[string]string{"POSTERN_CONFIG": cfgPath}[k] })
	if code != exNoUser || !strings.Contains(errb.String(), "nobody@example.com: 550 5.1.1 User unknown") {
		t.Errorf("exit %d %q", code, errb.String())
	}
}

func TestSendmailDaemonDownWritesMaildrop(t *testing.T) {
	t.Parallel()
	cfgPath := writeConfig(t, shortTempDir(t))
	cfg, err := config.Load(cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	// No maildrop directory yet (the daemon never ran): the message cannot be kept.
	r := runCLI(t, "Subject: x\n\nbody\n", nil, "sendmail", "--config", cfgPath, "root")
	if r.code != exTempFail || !strings.Contains(r.stderr, "keeping it failed") {
		t.Errorf("no maildrop: exit %d %q", r.code, r.stderr)
	}
	if err := os.MkdirAll(cfg.MaildropDir(), 0o733); err != nil {
		t.Fatal(err)
	}
	r = runCLI(t, "Subject: x\n\nbody\n", nil, "sendmail", "--config", cfgPath, "-f", "me@example.com", "root")
	if r.code != 0 || r.stderr != "" {
		t.Fatalf("exit %d %q", r.code, r.stderr)
	}
	entries, _ := os.ReadDir(cfg.MaildropDir())
	if len(entries) != 1 || strings.HasPrefix(entries[0].Name(), ".") {
		t.Fatalf("maildrop holds %v", entries)
	}
	data, _ := os.ReadFile(filepath.Join(cfg.MaildropDir(), entries[0].Name()))
	head, body, _ := strings.Cut(string(data), "\n")
	var req localsubmit.Request
	if err := json.Unmarshal([]byte(head), &req); err != nil {
		t.Fatal(err)
	}
	if body != "Subject: x\n\nbody\n" || req.Size != int64(len(body)) || *req.Sender != "me@example.com" || req.Rcpts[0] != "root" {
		t.Errorf("maildrop file %q", data)
	}
	if fi, _ := os.Stat(filepath.Join(cfg.MaildropDir(), entries[0].Name())); fi.Mode().Perm() != 0o640 {
		t.Errorf("maildrop file mode %v", fi.Mode())
	}
	// With the modes the daemon gives the maildrop, the message goes into the caller's
	// own directory, which mailq lists while the daemon is down.
	if err := os.Chmod(cfg.MaildropDir(), os.ModeSetgid|os.ModeSticky|0o733); err != nil {
		t.Fatal(err)
	}
	r = runCLI(t, "Subject: y\n\nbody\n", nil, "sendmail", "--config", cfgPath, "friend@example.org")
	own := filepath.Join(cfg.MaildropDir(), strconv.Itoa(os.Getuid()))
	if mine, _ := os.ReadDir(own); r.code != 0 || len(mine) != 1 {
		t.Fatalf("exit %d %q; own directory holds %v", r.code, r.stderr, mine)
	}
	r = runCLI(t, "", nil, "mailq", "--config", cfgPath)
	if r.code != 0 || !strings.Contains(r.stdout, "friend@example.org") || strings.Contains(r.stdout, "me@example.com") ||
		!strings.Contains(r.stderr, "not running") {
		t.Errorf("mailq, daemon down: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
}

// shortTempDir keeps socket paths under the 108-byte limit of sun_path.
func shortTempDir(t *testing.T) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "pc")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	return dir
}

func TestQueueCommands(t *testing.T) {
	t.Parallel()
	d := startDaemon(t)
	out := d.ok(t, "", "queue", "list")
	for _, w := range []string{"-Queue ID-", "LX3K2A9F01AB", "alice@example.com", "(451 connect to smtp.example.net: connection refused)", "bob@example.org", "-- 4 Kbytes in 1 Request."} {
		if !strings.Contains(out, w) {
			t.Errorf("queue list lacks %q:\n%s", w, out)
		}
	}
	if mq := d.ok(t, "", "mailq"); mq != out {
		t.Errorf("mailq differs from queue list:\n%s", mq)
	}
	var list []map[string]any
	if err := json.Unmarshal([]byte(d.ok(t, "", "queue", "list", "--json")), &list); err != nil || len(list) != 1 || list[0]["id"] != "LX3K2A9F01AB" {
		t.Errorf("--json: %v %v", list, err)
	}
	show := d.ok(t, "", "queue", "show", "LX3K2A9F01AB")
	if !strings.Contains(show, "to:       bob@example.org  deferred (451 connect to") || !strings.Contains(show, "Subject: hi\n") {
		t.Errorf("show:\n%s", show)
	}
	if got := d.ok(t, "", "queue", "hold", "LX3K2A9F01AB"); got != "held LX3K2A9F01AB\n" {
		t.Errorf("hold: %q", got)
	}
	if !strings.Contains(d.ok(t, "", "queue", "list"), "LX3K2A9F01AB!") {
		t.Error("held message not marked in the listing")
	}
	if got := d.ok(t, "", "queue", "flush"); got != "1 message to be tried now\n" {
		t.Errorf("flush: %q", got)
	}
	wantFail(t, d.cli(t, "", "queue", "delete", "NOPE"), exitNotFound, "no such message", "postern queue list")
	d.ok(t, "", "queue", "delete", "LX3K2A9F01AB")
	if got := d.ok(t, "", "queue", "list"); got != "Mail queue is empty\n" {
		t.Errorf("after delete: %q", got)
	}
}

func TestRelayTestCommand(t *testing.T) {
	t.Parallel()
	d := startDaemon(t)
	out := d.ok(t, "", "relay", "test", "--to", "x@example.org")
	if !strings.Contains(out, "ok   connect") || !strings.Contains(out, "ok   send") {
		t.Errorf("relay test:\n%s", out)
	}
	r := d.cli(t, "", "relay", "test", "--to", "x@fail.example")
	if r.code != 1 || !strings.Contains(r.stdout, "FAIL auth") || !strings.Contains(r.stdout, "refused the username or password") {
		t.Errorf("failing relay test: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	if out := d.ok(t, "", "relay", "test", "--relay", "backup"); !strings.Contains(out, "backup.example.net:587") {
		t.Errorf("relay test --relay backup did not test the named relay:\n%s", out)
	}
}

func TestSendmailVersionAndHelp(t *testing.T) {
	t.Parallel()
	for _, name := range []string{"/usr/sbin/sendmail", "mailq"} {
		var out, errb bytes.Buffer
		code := run([]string{name, "--version"}, strings.NewReader(""), &out, &errb, func(string) string { return "" })
		if code != 0 || !strings.HasPrefix(out.String(), "postern ") {
			t.Errorf("%s --version: exit %d %q %q", name, code, out.String(), errb.String())
		}
	}
	var out, errb bytes.Buffer
	if code := run([]string{"sendmail", "--help"}, strings.NewReader(""), &out, &errb, func(string) string { return "" }); code != 0 || !strings.Contains(out.String(), "-oi") {
		t.Errorf("sendmail --help: exit %d %q", code, out.String())
	}
}
