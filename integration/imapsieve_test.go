package integration

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// This file checks imapsieve (RFC 6785, issue 18): a [[sieve.imapsieve]] rule on Junk
// runs its script when an IMAP client copies a message there; the script's effects (a
// flag on the copy, a copy filed into Archive, a FLAG event's changed flags) are seen
// over IMAP by Python's imaplib.

const imapsieveScript = `require ["imapsieve", "imap4flags", "fileinto", "copy", "environment", "variables"];
if environment :is "imap.cause" "COPY" {
    if environment :is "imap.mailbox" "Junk" {
        addflag "\\Flagged";
        fileinto :copy "Archive";
    }
}
if environment :is "imap.cause" "FLAG" {
    if environment :contains "imap.changedflags" "\\Seen" {
        addflag "ScriptSawSeen";
    }
}
`

// imapsieveLogin is the start of the Python clients: logged in over IMAPS as alice.
const imapsieveLogin = `
import imaplib, json, os, ssl, time
E = os.environ
c = ssl.create_default_context()
c.check_hostname, c.verify_mode = False, ssl.CERT_NONE
m = imaplib.IMAP4_SSL("127.0.0.1", int(E["IMAPS_PORT"]), ssl_context=c, timeout=30)
m.login(E["IMAP_USER"], E["IMAP_PASS"])
`

const imapsieveClient = imapsieveLogin + `out = {}
body = b"From: a@example.org\r\nTo: alice@example.test\r\nSubject: sieve me\r\n\r\nhello\r\n"
typ, data = m.append("INBOX", None, None, body)
assert typ == "OK", data
m.select("INBOX")
typ, data = m.uid("SEARCH", "ALL")
uid = data[0].split()[-1]
typ, data = m.uid("COPY", uid, "Junk")
out["copy"] = typ

def poll(fn, what):
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        v = fn()
        if v:
            return v
        time.sleep(0.1)
    raise SystemExit("timed out waiting for " + what)

def junk_flags():
    m.select("Junk")
    typ, data = m.fetch("1", "(FLAGS)")
    s = data[0].decode() if data and data[0] else ""
    return s if "\\Flagged" in s else None
out["junk_flags"] = poll(junk_flags, "the flag")
def archive_count():
    typ, data = m.status("Archive", "(MESSAGES)")
    return data[0].decode() if b"MESSAGES 1" in data[0] else None
out["archive"] = poll(archive_count, "the Archive copy")
# INBOX's original is untouched: no rule for INBOX.
m.select("INBOX")
typ, data = m.fetch("1", "(FLAGS)")
out["inbox_flags"] = data[0].decode()
# A STORE in Junk is a FLAG event: imap.changedflags names \Seen.
m.select("Junk")
m.store("1", "+FLAGS", "\\Seen")
def saw_seen():
    m.noop()
    typ, data = m.fetch("1", "(FLAGS)")
    s = data[0].decode()
    return s if "ScriptSawSeen" in s else None
out["flag_event"] = poll(saw_seen, "the FLAG event's keyword")
m.logout()
print(json.dumps(out))
`

func TestIMAPSieveOnCopy(t *testing.T) {
	t.Parallel()
	py := needTool(t, "python3")
	script := filepath.Join(t.TempDir(), "junk.sieve")
	if err := os.WriteFile(script, []byte(imapsieveScript), 0o644); err != nil {
		t.Fatal(err)
	}
	s := NewServer(t, Options{Extra: fmt.Sprintf("[[sieve.imapsieve]]\nmailbox = \"Junk\"\ncauses = [\"COPY\", \"FLAG\"]\nbefore = %q\n", script)})
	rxSetup(t, s, "alice")
	got := runIMAPScript(t, py, s, imapsieveClient)
	if got["copy"] != "OK" {
		t.Fatalf("COPY: %v", got)
	}
	t.Logf("Junk: %v; Archive: %v; INBOX: %v; after STORE: %v", got["junk_flags"], got["archive"], got["inbox_flags"], got["flag_event"])
	if f, _ := got["inbox_flags"].(string); strings.Contains(f, `\Flagged`) {
		t.Errorf("the INBOX original got the script's flag: %s", f)
	}
	waitLogLine(t, s, 30*time.Second, `msg="imapsieve: ran"`, "cause=COPY")
}
