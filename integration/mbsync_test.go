package integration

import (
	"context"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// TestMbsyncBothWays is issue 4's mbsync check: isync syncs alice's account with a
// local Maildir in both directions over IMAPS, trusting the server's self-signed
// certificate by file, and a second sync with nothing changed changes nothing.
func TestMbsyncBothWays(t *testing.T) {
	t.Parallel()
	mbsync := needTool(t, "mbsync")
	py := needTool(t, "python3")
	s := NewServer(t, Options{})
	rxSetup(t, s, "alice")
	for _, subj := range []string{"mbsync one", "mbsync two"} {
		if out, code := rxSwaks(t, s, "--from", "sender@example.org", "--to", "alice@example.test",
			"--header", "Subject: "+subj, "--body", "body of "+subj); code != 0 {
			t.Fatalf("swaks: %d\n%s", code, out)
		}
	}
	local := filepath.Join(t.TempDir(), "mail")
	rc := writeMbsyncrc(t, s, local)
	sync := func() string {
		t.Helper()
		ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
		defer cancel()
		out, err := exec.CommandContext(ctx, mbsync, "-c", rc, "-a").CombinedOutput()
		if err != nil {
			t.Fatalf("mbsync: %v\n%s", err, out)
		}
		return string(out)
	}

	// First sync: the server's two messages arrive locally.
	sync()
	inbox := filepath.Join(local, "INBOX")
	if got := mbLocalSubjects(t, inbox); !slices.Equal(got, []string{"mbsync one", "mbsync two"}) {
		t.Fatalf("local INBOX after the first sync: %v", got)
	}

	// Local changes: "mbsync one" marked seen (a rename, as mutt does), a new message
	// written into the local INBOX.
	one := mbLocalFile(t, inbox, "mbsync one")
	base, info, _ := strings.Cut(filepath.Base(one), ":2,")
	if err := os.Rename(one, filepath.Join(inbox, "cur", base+":2,"+sortedFlags(info+"S"))); err != nil {
		t.Fatal(err)
	}
	newMsg := "From: alice@example.test\r\nTo: bob@example.org\r\nSubject: written locally\r\nMessage-ID: <local1@example.test>\r\n\r\nlocal body\r\n"
	if err := os.WriteFile(filepath.Join(inbox, "new", fmt.Sprintf("%d.mbtest.host", time.Now().Unix())), []byte(newMsg), 0o600); err != nil {
		t.Fatal(err)
	}
	sync()

	// The server sees both, and makes changes of its own: \Flagged on "mbsync two", a
	// new message appended, "written locally" deleted and expunged.
	got := runIMAPScript(t, py, s, mbServerScript)
	if v := got["seen"].(string); !strings.Contains(v, "mbsync one") || strings.Contains(v, "mbsync two") {
		t.Errorf("server's \\Seen messages after the local flag change: %q", v)
	}
	if got["local_new_on_server"] != true {
		t.Errorf("the locally written message did not reach the server: %v", got)
	}

	sync()
	if got := mbLocalSubjects(t, inbox); !slices.Equal(got, []string{"mbsync one", "mbsync two", "server append"}) {
		t.Errorf("local INBOX after the server's changes: %v", got)
	}
	if f := mbLocalFile(t, inbox, "mbsync two"); !strings.Contains(f[strings.LastIndex(f, ":2,"):], "F") {
		t.Errorf("server's \\Flagged did not reach %s", f)
	}

	// A second sync with nothing changed is a no-op on both sides.
	before := mbSnapshot(t, local)
	serverBefore := mbSnapshot(t, rxUserDir(s, "alice@example.test"))
	out := sync()
	if after := mbSnapshot(t, local); !slices.Equal(before, after) {
		t.Errorf("a second sync changed the local Maildir:\nbefore %v\nafter  %v\n%s", before, after, out)
	}
	if after := mbSnapshot(t, rxUserDir(s, "alice@example.test")); !slices.Equal(serverBefore, after) {
		t.Errorf("a second sync changed the server's Maildir:\nbefore %v\nafter  %v\n%s", serverBefore, after, out)
	}
}

// mbServerScript checks the server's view after the local changes reached it and makes
// the server-side changes the next sync must bring down.
const mbServerScript = `
import imaplib, json, os, ssl
E = os.environ
c = ssl.create_default_context(); c.check_hostname, c.verify_mode = False, ssl.CERT_NONE
m = imaplib.IMAP4_SSL("127.0.0.1", int(E["IMAPS_PORT"]), ssl_context=c, timeout=30)
m.login(E["IMAP_USER"], E["IMAP_PASS"])
m.select("INBOX")
out = {}
def subjects(crit):
    typ, data = m.search(None, crit)
    nums = data[0].split()
    res = []
    for n in nums:
        typ, d = m.fetch(n, "(BODY.PEEK[HEADER.FIELDS (SUBJECT)])")
        res.append(d[0][1].decode().strip())
    return " | ".join(res)
out["seen"] = subjects("SEEN")
typ, data = m.search(None, "SUBJECT", '"written locally"')
local = data[0].split()
out["local_new_on_server"] = len(local) == 1
typ, data = m.search(None, "SUBJECT", '"mbsync two"')
m.store(data[0].split()[0], "+FLAGS", "(\\Flagged)")
m.append("INBOX", None, None, b"From: x@example.org\r\nSubject: server append\r\n\r\nfrom the server\r\n")
if local:
    m.store(local[0], "+FLAGS", "(\\Deleted)")
    m.expunge()
m.logout()
print(json.dumps(out))
`

// writeMbsyncrc configures one channel between alice's INBOX and Archive on the server
// and a Maildir under local, trusting the server's self-signed certificate.
func writeMbsyncrc(t *testing.T, s *Server, local string) string {
	t.Helper()
	var cert string
	filepath.WalkDir(s.StateDir, func(p string, d fs.DirEntry, err error) error {
		if err == nil && d.Name() == "selfsigned.crt" {
			cert = p
		}
		return nil
	})
	if cert == "" {
		t.Fatal("no selfsigned.crt under the state dir")
	}
	if err := os.MkdirAll(local, 0o700); err != nil {
		t.Fatal(err)
	}
	dir := filepath.Dir(local)
	rc := fmt.Sprintf(`IMAPAccount postern
Host 127.0.0.1
Port %s
User alice@example.test
Pass %s
SSLType IMAPS
CertificateFile %s
AuthMechs LOGIN

IMAPStore remote
Account postern

MaildirStore local
Path %s/
Inbox %s/INBOX
SubFolders Verbatim

Channel alice
Far :remote:
Near :local:
Patterns INBOX Archive
Create Both
Expunge Both
SyncState *
Sync All
`, portOf(t, s.Addrs["imaps"]), imapPassword, cert, local, local)
	path := filepath.Join(dir, "mbsyncrc")
	if err := os.WriteFile(path, []byte(rc), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// mbLocalSubjects lists the Subjects in a local Maildir folder, sorted.
func mbLocalSubjects(t *testing.T, dir string) []string {
	t.Helper()
	var out []string
	for _, f := range rxFiles(t, dir) {
		if v := rxHeader(t, f)["subject"]; len(v) == 1 {
			out = append(out, v[0])
		}
	}
	slices.Sort(out)
	return out
}

// mbLocalFile is the one file in dir with the given Subject.
func mbLocalFile(t *testing.T, dir, subject string) string {
	t.Helper()
	got := rxFindSubject(t, dir, subject)
	if len(got) != 1 {
		t.Fatalf("%d files with Subject %q in %s", len(got), subject, dir)
	}
	return got[0]
}

func sortedFlags(f string) string {
	b := []byte(f)
	slices.Sort(b)
	return string(slices.Compact(b))
}

// mbSnapshot lists every file under root with its size and mtime: a sync that changes
// nothing leaves it equal. mbsync's own state files are included: a no-op must not even
// rewrite them.
func mbSnapshot(t *testing.T, root string) []string {
	t.Helper()
	var out []string
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		out = append(out, fmt.Sprintf("%s %d %d", rel, fi.Size(), fi.ModTime().UnixNano()))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(out)
	return out
}
