package integration

import (
	"context"
	"encoding/json"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// This file checks the IMAP server as issue 4 says a user would: Python's imaplib over
// IMAPS with the self-signed certificate, mail delivered by swaks to port 25, a second
// session watching, IDLE timed against an SMTP delivery, and the refusals (LOGIN before
// STARTTLS, names escaping the Maildir, another user's folders).

// imapPassword is what rxSetup sets (the CLI reads one line from stdin).
var imapPassword = strings.TrimSuffix(rxPassword, "\n")

// imapScript is the client side of TestIMAPWithImaplib. It does each step with real
// imaplib calls and prints one JSON object of what it saw; the Go test asserts on it.
// Any unexpected IMAP failure raises, and the traceback fails the test.
const imapScript = `
import imaplib, json, os, re, smtplib, socket, ssl, sys, time

E = os.environ
HOST, IMAPS, IMAP, SMTP = "127.0.0.1", int(E["IMAPS_PORT"]), int(E["IMAP_PORT"]), int(E["SMTP_PORT"])
USER, PW, BOB, BOBPW = E["IMAP_USER"], E["IMAP_PASS"], E["BOB_USER"], E["IMAP_PASS"]
out = {}

def ctx():
    c = ssl.create_default_context()
    c.check_hostname, c.verify_mode = False, ssl.CERT_NONE
    return c

def ok(res):
    typ, data = res
    if typ != "OK":
        raise RuntimeError("IMAP error: %r" % (data,))
    return data

def s(b):
    return b.decode() if isinstance(b, bytes) else str(b)

def untagged(m, kind):
    # imaplib collects unsolicited responses; take (and clear) those of one kind.
    return [s(x) for x in (m.untagged_responses.pop(kind, None) or [])]

def connect(user=USER, pw=PW):
    m = imaplib.IMAP4_SSL(HOST, IMAPS, ssl_context=ctx(), timeout=30)
    ok(m.login(user, pw))
    return m

# LOGIN on 143 before STARTTLS is refused; after STARTTLS it works.
p = imaplib.IMAP4(HOST, IMAP, timeout=30)
out["plain_caps"] = [s(c) for c in p.capabilities]
try:
    p.login(USER, PW)
    out["plain_login"] = "accepted"
except imaplib.IMAP4.error as e:
    out["plain_login"] = "refused: " + str(e)
p.starttls(ssl_context=ctx())
typ, _ = p.login(USER, PW)
out["starttls_login"] = typ
p.logout()

a = connect()
b = connect()

# LIST shows the special folders with their attributes (RFC 6154).
out["list"] = [s(x) for x in ok(a.list('""', "*"))]

# SELECT, FETCH and SEARCH see what swaks delivered.
out["select_exists"] = int(ok(a.select("INBOX"))[0])
ok(b.select("INBOX"))
data = ok(a.fetch("1:*", "(UID FLAGS RFC822.SIZE ENVELOPE BODY.PEEK[])"))
out["fetch"] = []
for item in data:
    if isinstance(item, tuple):
        meta, body = s(item[0]), item[1].decode("utf-8", "replace")
        subj = re.search(r'Subject: (.*)\r\n', body)
        out["fetch"].append({"meta": meta, "subject": subj.group(1) if subj else None, "has_body": "swaks-body-" in body})
out["search_subject"] = s(ok(a.search(None, "SUBJECT", "second"))[0])
out["search_body"] = s(ok(a.uid("SEARCH", "BODY", "swaks-body-1"))[0])
out["search_unseen"] = s(ok(a.search(None, "UNSEEN"))[0])

# STORE \Seen: the second session hears of it at its next command.
ok(a.store("1", "+FLAGS", "(\\Seen)"))
ok(b.noop())
out["b_after_store"] = untagged(b, "FETCH")
out["a_flags_1"] = s(ok(a.fetch("1", "(FLAGS)"))[0])

# MOVE message 2 to Archive: b sees the expunge, Archive has it.
ok(a.uid("MOVE", s(ok(a.fetch("2", "(UID)"))[0]).split("UID ")[1].rstrip(")"), "Archive"))
out["a_move_expunge"] = untagged(a, "EXPUNGE")
ok(b.noop())
out["b_after_move"] = untagged(b, "EXPUNGE")
out["archive_status"] = s(ok(a.status("Archive", "(MESSAGES)"))[0])

# \Deleted + EXPUNGE of message 1 (the only one left).
ok(a.store("1", "+FLAGS", "(\\Deleted)"))
out["expunge"] = [s(x) for x in ok(a.expunge()) if x]
ok(b.noop())
out["b_after_expunge"] = untagged(b, "EXPUNGE")
out["inbox_after"] = s(ok(b.status("INBOX", "(MESSAGES)"))[0])

# APPEND to Sent; the second session finds it.
msg = b"From: alice@example.test\r\nTo: x@example.org\r\nSubject: appended to sent\r\n\r\nsent body\r\n"
out["append"] = s(ok(a.append("Sent", "(\\Seen)", None, msg))[0])
out["b_sent_status"] = s(ok(b.status("Sent", "(MESSAGES)"))[0])
ok(b.select("Sent", readonly=True))
out["b_sent_fetch"] = s(ok(b.fetch("1", "(FLAGS BODY.PEEK[HEADER.FIELDS (SUBJECT)])"))[0][1]).strip()

# Names cannot escape the Maildir; alice cannot reach bob's folders.
bad = {}
for name in ['"../../etc"', '"../bob/INBOX"', '"INBOX/../../bob"', '".."', '"~bob/INBOX"', '"bob@example.test/INBOX"', '"#shared/bob"', '"/etc"']:
    try:
        typ, data = a.select(name)
    except imaplib.IMAP4.error as e:
        typ, data = "ERR", [str(e).encode()]
    bad[name] = typ
try:
    typ, _ = a.create('"../../escape"')
except imaplib.IMAP4.error:
    typ = "ERR"
bad["create ../../escape"] = typ
out["bad_names"] = bad
out["alice_list_all"] = [s(x) for x in ok(a.list('""', "*"))]

# IDLE: time from the SMTP 250 to the EXISTS on the idling connection.
ok(b.select("INBOX"))
tag = b._new_tag()
b.send(tag + b" IDLE\r\n")
line = b.readline()
if not line.startswith(b"+"):
    raise RuntimeError("IDLE not accepted: %r" % line)
smtp = smtplib.SMTP(HOST, SMTP, timeout=30)
smtp.sendmail("sender@example.org", [USER], "From: sender@example.org\r\nTo: %s\r\nSubject: idle wake\r\n\r\nwake up\r\n" % USER)
t250 = time.monotonic()
b.sock.settimeout(5)
got = None
while got is None:
    line = b.readline()
    if not line:
        raise RuntimeError("connection closed in IDLE")
    if re.match(rb"\* \d+ EXISTS", line):
        got = time.monotonic()
out["idle_ms"] = (got - t250) * 1000
smtp.quit()
b.send(b"DONE\r\n")
while True:
    line = b.readline()
    if line.startswith(tag):
        out["idle_done"] = s(line).strip()
        break
a.logout()
b.logout()
print(json.dumps(out))
`

// TestIMAPWithImaplib is issue 4's imaplib check list against the real binary.
func TestIMAPWithImaplib(t *testing.T) {
	t.Parallel()
	py := needTool(t, "python3")
	s := NewServer(t, Options{})
	rxSetup(t, s, "alice", "bob")
	for i, subj := range []string{"first swaks message", "second swaks message"} {
		if out, code := rxSwaks(t, s, "--from", "sender@example.org", "--to", "alice@example.test",
			"--header", "Subject: "+subj, "--body", "swaks-body-"+strconv.Itoa(i)); code != 0 {
			t.Fatalf("swaks: %d\n%s", code, out)
		}
	}
	if out, code := rxSwaks(t, s, "--from", "sender@example.org", "--to", "bob@example.test",
		"--header", "Subject: for bob only", "--body", "bob-secret"); code != 0 {
		t.Fatalf("swaks: %d\n%s", code, out)
	}

	got := runIMAPScript(t, py, s, imapScript)

	if caps := got["plain_caps"].([]any); !slices.Contains(caps, any("LOGINDISABLED")) || !slices.Contains(caps, any("STARTTLS")) {
		t.Errorf("capabilities on 143 before TLS = %v, want LOGINDISABLED and STARTTLS", caps)
	}
	if v := got["plain_login"].(string); !strings.HasPrefix(v, "refused") {
		t.Errorf("LOGIN on 143 before STARTTLS: %s", v)
	}
	if got["starttls_login"] != "OK" {
		t.Errorf("LOGIN after STARTTLS = %v", got["starttls_login"])
	}
	list := strings.Join(toStrings(got["list"]), "\n")
	for _, want := range []string{`\Sent) "/" "Sent"`, `\Drafts) "/" "Drafts"`, `\Trash) "/" "Trash"`, `\Junk) "/" "Junk"`, `\Archive) "/" "Archive"`, `"/" INBOX`} {
		if !strings.Contains(list, want) {
			t.Errorf("LIST lacks %q:\n%s", want, list)
		}
	}
	if got["select_exists"].(float64) != 2 {
		t.Errorf("SELECT INBOX: %v messages, want 2", got["select_exists"])
	}
	fetched := got["fetch"].([]any)
	if len(fetched) != 2 {
		t.Fatalf("FETCH 1:* returned %d messages: %v", len(fetched), fetched)
	}
	for i, want := range []string{"first swaks message", "second swaks message"} {
		f := fetched[i].(map[string]any)
		meta := f["meta"].(string)
		if f["subject"] != want || f["has_body"] != true || !strings.Contains(meta, "ENVELOPE") || !strings.Contains(meta, `"`+want+`"`) {
			t.Errorf("FETCH %d = %v", i+1, f)
		}
	}
	if got["search_subject"] != "2" || got["search_unseen"] != "1 2" || got["search_body"] == "" {
		t.Errorf("SEARCH SUBJECT second = %q, UNSEEN = %q, UID SEARCH BODY = %q", got["search_subject"], got["search_unseen"], got["search_body"])
	}
	if v := toStrings(got["b_after_store"]); len(v) != 1 || !strings.Contains(v[0], `\Seen`) {
		t.Errorf("second session after STORE saw FETCH %v, want one with \\Seen", v)
	}
	if v := got["a_flags_1"].(string); !strings.Contains(v, `\Seen`) {
		t.Errorf("flags after STORE: %s", v)
	}
	if v := toStrings(got["b_after_move"]); !slices.Equal(v, []string{"2"}) {
		t.Errorf("second session after MOVE saw EXPUNGE %v, want [2]", v)
	}
	if v := toStrings(got["a_move_expunge"]); !slices.Equal(v, []string{"2"}) {
		t.Errorf("MOVE answered EXPUNGE %v, want [2]", v)
	}
	if v := got["archive_status"].(string); !strings.Contains(v, "MESSAGES 1") {
		t.Errorf("STATUS Archive = %s", v)
	}
	if v := toStrings(got["expunge"]); !slices.Equal(v, []string{"1"}) {
		t.Errorf("EXPUNGE answered %v", v)
	}
	if v := toStrings(got["b_after_expunge"]); !slices.Equal(v, []string{"1"}) {
		t.Errorf("second session after EXPUNGE saw %v", v)
	}
	if v := got["inbox_after"].(string); !strings.Contains(v, "MESSAGES 0") {
		t.Errorf("STATUS INBOX after = %s", v)
	}
	if v := got["append"].(string); !strings.Contains(v, "APPENDUID") {
		t.Errorf("APPEND answered %s, want APPENDUID", v)
	}
	if v := got["b_sent_status"].(string); !strings.Contains(v, "MESSAGES 1") {
		t.Errorf("second session STATUS Sent = %s", v)
	}
	if v := got["b_sent_fetch"].(string); v != "Subject: appended to sent" {
		t.Errorf("second session FETCH from Sent = %q", v)
	}
	for name, typ := range got["bad_names"].(map[string]any) {
		if typ == "OK" {
			t.Errorf("%s succeeded", name)
		}
	}
	for _, l := range toStrings(got["alice_list_all"]) {
		if strings.Contains(strings.ToLower(l), "bob") || strings.Contains(l, "escape") {
			t.Errorf("alice's LIST shows %s", l)
		}
	}
	// Nothing was made outside alice's Maildir, and bob's mail stayed his.
	for _, p := range []string{filepath.Join(s.StateDir, "etc"), filepath.Join(s.StateDir, "mail", "etc"),
		filepath.Join(s.StateDir, "mail", "example.test", "etc"), filepath.Join(s.StateDir, "mail", "escape"),
		filepath.Join(s.StateDir, "escape"), filepath.Join(s.StateDir, "mail", "example.test", "escape")} {
		if _, err := os.Lstat(p); err == nil {
			t.Errorf("%s exists", p)
		}
	}
	if n := len(rxFindSubject(t, rxUserDir(s, "bob@example.test"), "for bob only")); n != 1 {
		t.Errorf("bob's message: %d copies in his Maildir", n)
	}
	ms := got["idle_ms"].(float64)
	t.Logf("IDLE: EXISTS %.1f ms after the SMTP 250", ms)
	if ms > 100 {
		t.Errorf("IDLE woke %.1f ms after the 250, want < 100 ms", ms)
	}
	if v, _ := got["idle_done"].(string); !strings.Contains(v, "OK") {
		t.Errorf("IDLE ended with %q", v)
	}
}

// runIMAPScript runs a Python script against s with the ports and alice's login in its
// environment and decodes the JSON object it prints last.
func runIMAPScript(t *testing.T, py string, s *Server, script string) map[string]any {
	t.Helper()
	path := filepath.Join(t.TempDir(), "client.py")
	if err := os.WriteFile(path, []byte(script), 0o644); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, py, path)
	cmd.Env = append(os.Environ(),
		"IMAPS_PORT="+portOf(t, s.Addrs["imaps"]), "IMAP_PORT="+portOf(t, s.Addrs["imap"]),
		"SMTP_PORT="+portOf(t, s.Addrs["smtp"]), "IMAP_USER=alice@example.test",
		"BOB_USER=bob@example.test", "IMAP_PASS="+imapPassword)
	out, err := cmd.Output()
	if err != nil {
		var stderr string
		if ee, ok := err.(*exec.ExitError); ok {
			stderr = string(ee.Stderr)
		}
		t.Fatalf("python client: %v\nstdout: %s\nstderr: %s", err, out, stderr)
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	var got map[string]any
	if err := json.Unmarshal([]byte(lines[len(lines)-1]), &got); err != nil {
		t.Fatalf("python client output: %v\n%s", err, out)
	}
	return got
}

func portOf(t testing.TB, addr string) string {
	t.Helper()
	_, port, err := net.SplitHostPort(addr)
	if err != nil {
		t.Fatalf("address %q: %v", addr, err)
	}
	return port
}

func toStrings(v any) []string {
	var out []string
	for _, x := range v.([]any) {
		out = append(out, x.(string))
	}
	return out
}
