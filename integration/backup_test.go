package integration

import (
	"encoding/json"
	"fmt"
	"net/smtp"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// uidsByMessageID lists alice's INBOX as Message-ID -> UID, with its UIDVALIDITY.
const uidsByMessageIDPy = `
import imaplib, json, os, re, ssl
ctx = ssl.create_default_context(); ctx.check_hostname = False; ctx.verify_mode = ssl.CERT_NONE
M = imaplib.IMAP4_SSL('127.0.0.1', int(os.environ['IMAPS_PORT']), ssl_context=ctx)
M.login(os.environ['IMAP_USER'], os.environ['IMAP_PASS'])
typ, d = M.select('INBOX', readonly=True)
typ, st = M.status('INBOX', '(UIDVALIDITY)')
uv = int(re.search(r'UIDVALIDITY (\d+)', st[0].decode()).group(1))
out = {}
typ, data = M.uid('FETCH', '1:*', '(BODY.PEEK[HEADER.FIELDS (MESSAGE-ID)])')
for d in data:
    if not isinstance(d, tuple): continue
    uid = re.search(rb'UID (\d+)', d[0]).group(1).decode()
    mid = re.search(rb'<([^>]+)>', d[1]).group(1).decode()
    out[mid] = int(uid)
print(json.dumps({'uidvalidity': uv, 'uids': out}))
`

type inboxUIDs struct {
	UIDValidity int            `json:"uidvalidity"`
	UIDs        map[string]int `json:"uids"`
}

func listInbox(t *testing.T, py string, s *Server) inboxUIDs {
	t.Helper()
	got := runIMAPScript(t, py, s, uidsByMessageIDPy)
	b, _ := json.Marshal(got)
	var r inboxUIDs
	if err := json.Unmarshal(b, &r); err != nil {
		t.Fatal(err)
	}
	return r
}

// TestBackupDuringLoad: a backup taken while 1,000 messages arrive, restored into a
// fresh state directory, serves every message acknowledged before the backup began,
// under the same UIDVALIDITY and UIDs; the deliveries during the backup all succeed
// and are all on the original server. The restored files belong to the state
// directory's owner with their modes; the relay password file the config names outside
// the state directory comes back where the new config names it, 0600.
func TestBackupDuringLoad(t *testing.T) {
	t.Parallel()
	py := needTool(t, "python3")
	// A secret the config names outside the state directory: the relay's password file.
	relayTable := func(pw string) string {
		return fmt.Sprintf("[relay]\nhost = \"127.0.0.1\"\nport = 2525\ntls = \"starttls\"\nusername = \"u\"\npassword_file = %q\n", pw)
	}
	oldPW := filepath.Join(t.TempDir(), "relay.password")
	if err := os.WriteFile(oldPW, []byte("s3cret\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	s := NewServer(t, Options{Extra: relayTable(oldPW)})
	rxSetup(t, s, "alice")

	const total, conns = 1000, 4
	var acked sync.Map // Message-ID -> time of the 250
	var sent atomic.Int64
	var wg sync.WaitGroup
	errs := make(chan error, conns)
	for c := 0; c < conns; c++ {
		wg.Add(1)
		go func(c int) {
			defer wg.Done()
			errs <- sendLoad(s.Addrs["smtp"], c, total/conns, &acked, &sent)
		}(c)
	}
	deadline := time.Now().Add(2 * time.Minute)
	for sent.Load() < total/4 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	began := time.Now()
	dest := filepath.Join(t.TempDir(), "backup")
	r := s.CLI("", "backup", dest)
	if r.Code != 0 {
		t.Fatalf("backup: %d %s %s", r.Code, r.Stdout, r.Stderr)
	}
	t.Logf("backup began after %d acknowledged messages: %s", countBefore(&acked, began), strings.TrimSpace(r.Stdout))
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatalf("delivery during the backup: %v", err)
		}
	}
	orig := listInbox(t, py, s)
	if len(orig.UIDs) != total {
		t.Fatalf("original server holds %d of %d messages", len(orig.UIDs), total)
	}
	s.Stop()

	// The new machine's config names the password file where it wants it; it is not
	// there yet: restore puts it there, still 0600, and the server starts with it.
	newPW := filepath.Join(t.TempDir(), "etc", "relay.password")
	fresh := NewServer(t, Options{NoStart: true, Extra: relayTable(newPW)})
	// The state directory belongs to the service user (a test uid when we are root):
	// what restore writes goes to it, modes as they were.
	owner := [2]int{os.Getuid(), os.Getgid()}
	if os.Geteuid() == 0 {
		owner = [2]int{54321, 54321}
	}
	if err := os.MkdirAll(fresh.StateDir, 0o750); err != nil {
		t.Fatal(err)
	}
	if err := os.Chown(fresh.StateDir, owner[0], owner[1]); err != nil {
		t.Fatal(err)
	}
	if r := fresh.CLI("", "restore", dest); r.Code != 0 {
		t.Fatalf("restore: %d %s %s", r.Code, r.Stdout, r.Stderr)
	} else {
		t.Log(strings.TrimSpace(r.Stdout))
	}
	checkRestoredOwners(t, filepath.Join(dest, "state"), fresh.StateDir, owner)
	// The config is kept in the backup under its path, mode kept; the new server has its
	// own, so the old one is put aside to compare.
	confData, err := os.ReadFile(s.Config)
	if err != nil {
		t.Fatal(err)
	}
	if b, err := os.ReadFile(filepath.Join(dest, "outside", s.Config)); err != nil || string(b) != string(confData) {
		t.Errorf("the config is not in the backup under its path: %v", err)
	}
	if b, err := os.ReadFile(newPW); err != nil || string(b) != "s3cret\n" {
		t.Errorf("the relay password file was not restored where the config names it: %q %v", b, err)
	} else if fi := mustStat(t, newPW); fi.Mode().Perm() != 0o600 {
		t.Errorf("the restored relay password file has mode %v", fi.Mode())
	}
	aside := filepath.Join(fresh.StateDir, "restored-files", "config", filepath.Base(s.Config))
	if b, err := os.ReadFile(aside); err != nil || string(b) != string(confData) {
		t.Errorf("the backed-up config is not put aside in %s: %v", aside, err)
	}
	if a, b := mustStat(t, s.Config), mustStat(t, aside); a.Mode() != b.Mode() {
		t.Errorf("config mode %v, put aside as %v", a.Mode(), b.Mode())
	}
	if r := fresh.CLI("", "restore", dest); r.Code == 0 {
		t.Fatal("a second restore into the now non-empty state directory was accepted")
	}
	fresh.Start()
	got := listInbox(t, py, fresh)
	if got.UIDValidity != orig.UIDValidity {
		t.Fatalf("UIDVALIDITY %d after restore, %d before", got.UIDValidity, orig.UIDValidity)
	}
	want := 0
	acked.Range(func(k, v any) bool {
		if v.(time.Time).Before(began) {
			want++
			id := k.(string)
			if uid, ok := got.UIDs[id]; !ok {
				t.Errorf("message %s, acknowledged before the backup began, is not in the restore", id)
			} else if uid != orig.UIDs[id] {
				t.Errorf("message %s has UID %d after restore, %d before", id, uid, orig.UIDs[id])
			}
		}
		return true
	})
	// Messages acknowledged during the backup may be in it or not; below the UIDNEXT the
	// backup recorded at its end, no restored UID may name another message than it did.
	var man struct {
		Counters []struct {
			User, Mailbox string
			UIDNext       int
		}
	}
	if b, err := os.ReadFile(filepath.Join(dest, "backup.json")); err != nil || json.Unmarshal(b, &man) != nil {
		t.Fatalf("backup.json: %v", err)
	}
	endNext := 0
	for _, c := range man.Counters {
		if c.User == "alice@example.test" && c.Mailbox == "INBOX" {
			endNext = c.UIDNext
		}
	}
	origByUID := map[int]string{}
	for id, uid := range orig.UIDs {
		origByUID[uid] = id
	}
	for id, uid := range got.UIDs {
		if o, ok := origByUID[uid]; ok && uid < endNext && o != id {
			t.Errorf("restored UID %d names %s; before the backup ended it named %s", uid, id, o)
		}
	}
	if want == 0 {
		t.Fatal("no message was acknowledged before the backup began: the test proved nothing")
	}
	rxCheckIndexMatches(t, fresh, "alice@example.test")
}

func mustStat(t *testing.T, p string) os.FileInfo {
	t.Helper()
	fi, err := os.Stat(p)
	if err != nil {
		t.Fatal(err)
	}
	return fi
}

// checkRestoredOwners: every file under state is owned by owner, and each one the
// backup held has the mode it had there.
func checkRestoredOwners(t *testing.T, backupState, state string, owner [2]int) {
	t.Helper()
	n := 0
	err := filepath.Walk(state, func(p string, fi os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(state, p)
		if st := fi.Sys().(*syscall.Stat_t); int(st.Uid) != owner[0] || int(st.Gid) != owner[1] {
			t.Errorf("%s is owned by %d:%d after restore, want %d:%d", rel, st.Uid, st.Gid, owner[0], owner[1])
		}
		if b, err := os.Lstat(filepath.Join(backupState, rel)); err == nil && rel != "." && b.Mode() != fi.Mode() {
			t.Errorf("%s has mode %v after restore, %v in the backup", rel, fi.Mode(), b.Mode())
		}
		n++
		return nil
	})
	if err != nil || n < 100 {
		t.Fatalf("walked %d restored files: %v", n, err)
	}
}

func countBefore(acked *sync.Map, t time.Time) int {
	n := 0
	acked.Range(func(_, v any) bool {
		if v.(time.Time).Before(t) {
			n++
		}
		return true
	})
	return n
}

// sendLoad sends n messages over one SMTP connection, recording when each got its 250.
func sendLoad(addr string, conn, n int, acked *sync.Map, sent *atomic.Int64) error {
	c, err := smtp.Dial(addr)
	if err != nil {
		return err
	}
	defer c.Close()
	if err := c.Hello("load.example.org"); err != nil {
		return err
	}
	for i := 0; i < n; i++ {
		id := fmt.Sprintf("load-%d-%d@example.org", conn, i)
		if err := c.Mail("bob@example.org"); err != nil {
			return err
		}
		if err := c.Rcpt("alice@example.test"); err != nil {
			return err
		}
		w, err := c.Data()
		if err != nil {
			return err
		}
		fmt.Fprintf(w, "From: bob@example.org\r\nTo: alice@example.test\r\nSubject: load %d %d\r\nMessage-ID: <%s>\r\n\r\nbody\r\n", conn, i, id)
		if err := w.Close(); err != nil {
			return fmt.Errorf("message %s: %w", id, err)
		}
		acked.Store(id, time.Now())
		sent.Add(1)
	}
	return c.Quit()
}
