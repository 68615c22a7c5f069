package integration

import (
	"bufio"
	"crypto/tls"
	"encoding/base64"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestSieveAtDelivery: mail delivered by swaks is sorted by the built-in spam rule and by
// the user's own script, put with `postern sieve put` and activated.
func TestSieveAtDelivery(t *testing.T) {
	t.Parallel()
	s := NewServer(t, Options{})
	rxSetup(t, s, "alice")
	script := filepath.Join(t.TempDir(), "main.sieve")
	if err := os.WriteFile(script, []byte(`require ["fileinto", "envelope", "subaddress", "mailbox"];
if header :contains "List-Id" "<golang-nuts.googlegroups.com>" { fileinto :create "Lists/golang"; stop; }
if envelope :detail "to" "receipts" { fileinto :create "Receipts"; }
`), 0o644); err != nil {
		t.Fatal(err)
	}
	s.MustCLI("sieve", "put", "alice@example.test", "main", script)
	s.MustCLI("sieve", "activate", "alice@example.test", "main")
	if out := s.MustCLI("sieve", "list", "alice@example.test"); !strings.Contains(out, "main") {
		t.Fatalf("sieve list: %q", out)
	}

	send := func(to, subject string, headers ...string) {
		t.Helper()
		args := []string{"--to", to, "--from", "sender@example.org", "--header", "Subject: " + subject}
		for _, h := range headers {
			args = append(args, "--add-header", h)
		}
		if out, code := rxSwaks(t, s, args...); code != 0 {
			t.Fatalf("swaks: %s", out)
		}
	}
	send("alice@example.test", "cheap pills", "X-Spam: Yes")
	send("alice@example.test", "[go] generics", "List-Id: Go <golang-nuts.googlegroups.com>")
	send("alice+receipts@example.test", "your order")
	send("alice@example.test", "hello")

	root := rxUserDir(s, "alice@example.test")
	for folder, subject := range map[string]string{".Junk": "cheap pills", ".Lists.golang": "[go] generics", ".Receipts": "your order", "": "hello"} {
		dir := filepath.Join(root, folder)
		if got := rxFindSubject(t, dir, subject); len(got) != 1 {
			t.Errorf("%q: %d copies in %s, want 1", subject, len(got), dir)
		}
	}
	if n := len(rxFiles(t, root)); n != 1 {
		t.Errorf("INBOX has %d messages, want only the plain one", n)
	}
	for _, mb := range []string{"Junk", "Lists/golang", "Receipts"} {
		if n := len(rxIndexed(t, s, "alice@example.test", mb)); n != 1 {
			t.Errorf("index of %s has %d messages", mb, n)
		}
	}
}

// TestSieveBrokenScriptRefused: the CLI refuses a broken script with its line.
func TestSieveBrokenScriptRefused(t *testing.T) {
	t.Parallel()
	s := NewServer(t, Options{})
	rxSetup(t, s, "alice")
	script := filepath.Join(t.TempDir(), "bad.sieve")
	if err := os.WriteFile(script, []byte("require \"fileinto\";\nif true {\n  fileinto \"x\"\n}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	r := s.CLI("", "sieve", "put", "alice@example.test", "bad", script)
	if r.Code == 0 || !strings.Contains(r.Stderr, "4") {
		t.Fatalf("broken script: code %d %q", r.Code, r.Stderr)
	}
	if r := s.CLI("", "sieve", "check", script); r.Code != 1 || !strings.Contains(r.Stdout+r.Stderr, ":4:") {
		t.Fatalf("sieve check: code %d %q %q", r.Code, r.Stdout, r.Stderr)
	}
}

// TestManageSieve: a ManageSieve client (raw protocol) uploads and activates a script over
// port 4190 after STARTTLS, a broken one is refused with its line, and the next delivery
// follows the uploaded script.
func TestManageSieve(t *testing.T) {
	t.Parallel()
	s := NewServer(t, Options{})
	rxSetup(t, s, "alice")
	c, err := net.DialTimeout("tcp", s.Addrs["managesieve"], 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(30 * time.Second))
	r := bufio.NewReader(c)
	// readResp reads lines up to and including the OK/NO/BYE line.
	readResp := func() []string {
		t.Helper()
		var lines []string
		for {
			l, err := r.ReadString('\n')
			if err != nil {
				t.Fatalf("read: %v (so far %q)", err, lines)
			}
			l = strings.TrimRight(l, "\r\n")
			lines = append(lines, l)
			if strings.HasPrefix(l, "OK") || strings.HasPrefix(l, "NO") || strings.HasPrefix(l, "BYE") {
				return lines
			}
		}
	}
	send := func(cmd string) []string {
		t.Helper()
		if _, err := fmt.Fprintf(c, "%s\r\n", cmd); err != nil {
			t.Fatal(err)
		}
		return readResp()
	}
	greeting := readResp()
	if strings.Contains(strings.Join(greeting, "\n"), `"SASL" "PLAIN"`) {
		t.Fatalf("PLAIN offered before TLS: %q", greeting)
	}
	auth := base64.StdEncoding.EncodeToString([]byte("\x00alice@example.test\x00" + strings.TrimSpace(rxPassword)))
	if resp := send(`AUTHENTICATE "PLAIN" "` + auth + `"`); !strings.HasPrefix(resp[len(resp)-1], "NO") {
		t.Fatalf("AUTHENTICATE before STARTTLS: %q", resp)
	}
	if resp := send("STARTTLS"); !strings.HasPrefix(resp[len(resp)-1], "OK") {
		t.Fatalf("STARTTLS: %q", resp)
	}
	tc := tls.Client(c, &tls.Config{InsecureSkipVerify: true})
	c = tc
	r = bufio.NewReader(tc)
	readResp() // capabilities after TLS
	if resp := send(`AUTHENTICATE "PLAIN" "` + auth + `"`); !strings.HasPrefix(resp[len(resp)-1], "OK") {
		t.Fatalf("AUTHENTICATE: %q", resp)
	}
	bad := "require \"fileinto\";\nfileinto \"x\"\n"
	if resp := send(fmt.Sprintf("PUTSCRIPT \"bad\" {%d+}\r\n%s", len(bad), bad)); !strings.HasPrefix(resp[len(resp)-1], "NO") || !strings.Contains(strings.Join(resp, " "), "line 3") {
		t.Fatalf("broken PUTSCRIPT: %q", resp)
	}
	good := "require [\"fileinto\", \"mailbox\"];\nif header :contains \"Subject\" \"report\" { fileinto :create \"Reports\"; }\n"
	if resp := send(fmt.Sprintf("PUTSCRIPT \"rules\" {%d+}\r\n%s", len(good), good)); !strings.HasPrefix(resp[len(resp)-1], "OK") {
		t.Fatalf("PUTSCRIPT: %q", resp)
	}
	if resp := send(`SETACTIVE "rules"`); !strings.HasPrefix(resp[len(resp)-1], "OK") {
		t.Fatalf("SETACTIVE: %q", resp)
	}
	if resp := send("LISTSCRIPTS"); !strings.Contains(strings.Join(resp, "\n"), `"rules" ACTIVE`) {
		t.Fatalf("LISTSCRIPTS: %q", resp)
	}
	send("LOGOUT")

	if out, code := rxSwaks(t, s, "--to", "alice@example.test", "--from", "cron@example.org", "--header", "Subject: nightly report"); code != 0 {
		t.Fatalf("swaks: %s", out)
	}
	if got := rxFindSubject(t, filepath.Join(rxUserDir(s, "alice@example.test"), ".Reports"), "nightly report"); len(got) != 1 {
		t.Fatalf("the delivery did not follow the uploaded script: %v", got)
	}
}

// TestSieveConnect: sieve-connect (the client people use from scripts) uploads a script
// over port 4190 and activates it; the next delivery follows it; a broken script is
// refused with its line number.
func TestSieveConnect(t *testing.T) {
	t.Parallel()
	sc := needTool(t, "sieve-connect")
	s := NewServer(t, Options{})
	rxSetup(t, s, "alice")
	host, port, _ := net.SplitHostPort(s.Addrs["managesieve"])
	dir := t.TempDir()
	run := func(script string, args ...string) (string, error) {
		t.Helper()
		full := append([]string{"--server", host, "--port", port, "--user", "alice@example.test",
			"--notlsverify", "--passwordfd", "3", "--authmech", "PLAIN"}, args...)
		cmd := exec.Command(sc, full...)
		pr, pw, err := os.Pipe()
		if err != nil {
			t.Fatal(err)
		}
		cmd.ExtraFiles = []*os.File{pr}
		go func() { pw.WriteString(strings.TrimSpace(rxPassword) + "\n"); pw.Close() }()
		out, err := cmd.CombinedOutput()
		pr.Close()
		return string(out), err
	}
	good := filepath.Join(dir, "rules.sieve")
	if err := os.WriteFile(good, []byte("require [\"fileinto\", \"mailbox\"];\nif address :is \"from\" \"backup@example.org\" { fileinto :create \"Backups\"; }\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := run("", "--upload", "--localsieve", good, "--remotesieve", "rules"); err != nil {
		t.Fatalf("upload: %v\n%s", err, out)
	}
	if out, err := run("", "--activate", "--remotesieve", "rules"); err != nil {
		t.Fatalf("activate: %v\n%s", err, out)
	}
	if out, err := run("", "--list"); err != nil || !strings.Contains(out, "rules") {
		t.Fatalf("list: %v\n%s", err, out)
	}
	bad := filepath.Join(dir, "bad.sieve")
	if err := os.WriteFile(bad, []byte("require \"fileinto\";\n\nfileinto \"x\"\nkeep;\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := run("", "--upload", "--localsieve", bad, "--remotesieve", "bad")
	if err == nil || !strings.Contains(out, "line 3") {
		t.Fatalf("broken script accepted or error without its line: %v\n%s", err, out)
	}
	if out, code := rxSwaks(t, s, "--to", "alice@example.test", "--from", "backup@example.org", "--header", "Subject: borg done"); code != 0 {
		t.Fatalf("swaks: %s", out)
	}
	if got := rxFindSubject(t, filepath.Join(rxUserDir(s, "alice@example.test"), ".Backups"), "borg done"); len(got) != 1 {
		t.Fatal("delivery did not follow the script uploaded with sieve-connect")
	}
}

// TestSieveVacation: a vacation script answers the first message from a sender once,
// and does not answer a mailing-list message.
func TestSieveVacation(t *testing.T) {
	t.Parallel()
	s := NewServer(t, Options{})
	rxSetup(t, s, "alice", "bob")
	script := filepath.Join(t.TempDir(), "away.sieve")
	if err := os.WriteFile(script, []byte(`require "vacation";
vacation :days 7 :subject "Out of office" "I am away until Monday.";
`), 0o644); err != nil {
		t.Fatal(err)
	}
	s.MustCLI("sieve", "put", "alice@example.test", "away", script)
	s.MustCLI("sieve", "activate", "alice@example.test", "away")
	for i, extra := range [][]string{nil, nil, {"--add-header", "List-Id: <team.lists.example.test>"}} {
		args := append([]string{"--to", "alice@example.test", "--from", "bob@example.test",
			"--header", fmt.Sprintf("Subject: message %d", i), "--header", "To: alice@example.test"}, extra...)
		if out, code := rxSwaks(t, s, args...); code != 0 {
			t.Fatalf("swaks: %s", out)
		}
	}
	replies := rxFindSubject(t, rxUserDir(s, "bob@example.test"), "Out of office")
	if len(replies) != 1 {
		t.Fatalf("bob got %d vacation replies, want 1", len(replies))
	}
	h := rxHeader(t, replies[0])
	if got := h["auto-submitted"]; len(got) != 1 || !strings.HasPrefix(got[0], "auto-replied") {
		t.Fatalf("reply headers: %v", h)
	}
	if got := h["return-path"]; len(got) != 1 || got[0] != "<>" {
		t.Fatalf("reply must have the null sender: %v", h["return-path"])
	}
	if n := len(rxFiles(t, rxUserDir(s, "alice@example.test"))); n != 3 {
		t.Fatalf("alice has %d messages, want all 3 kept", n)
	}
}
