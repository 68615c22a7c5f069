package imap

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	goimap "github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
)

func TestSearchSortIDCondstore(t *testing.T) {
	t.Parallel()
	e := newEnv(t, "alice@example.org")
	c := e.dial("alice@example.org", nil)
	e.appendMsg(c, "INBOX", testMessage("zebra", "the quick brown fox"))
	e.appendMsg(c, "INBOX", testMessage("apple", "lazy dog"), goimap.FlagSeen)
	e.appendMsg(c, "INBOX", strings.ReplaceAll("From: x@y\nSubject: =?utf-8?q?caf=C3=A9?=\nContent-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: base64\n\nw6ljbGFpcg==\n", "\n", "\r\n"))
	e.selectBox(c, "INBOX")

	search := func(cr *goimap.SearchCriteria) []goimap.UID {
		t.Helper()
		d, err := c.UIDSearch(cr, nil).Wait()
		if err != nil {
			t.Fatal(err)
		}
		return d.AllUIDs()
	}
	if got := search(&goimap.SearchCriteria{Header: []goimap.SearchCriteriaHeaderField{{Key: "Subject", Value: "ZEBRA"}}}); !slices.Equal(got, []goimap.UID{1}) {
		t.Errorf("HEADER Subject zebra = %v", got)
	}
	if got := search(&goimap.SearchCriteria{Body: []string{"dog"}}); !slices.Equal(got, []goimap.UID{2}) {
		t.Errorf("BODY dog = %v", got)
	}
	if got := search(&goimap.SearchCriteria{Text: []string{"éclair"}}); !slices.Equal(got, []goimap.UID{3}) {
		t.Errorf("TEXT éclair (base64 body) = %v", got)
	}
	if got := search(&goimap.SearchCriteria{NotFlag: []goimap.Flag{goimap.FlagSeen}}); !slices.Equal(got, []goimap.UID{1, 3}) {
		t.Errorf("UNSEEN = %v", got)
	}
	if got := search(&goimap.SearchCriteria{Or: [][2]goimap.SearchCriteria{{{Larger: 1 << 20}, {UID: []goimap.UIDSet{goimap.UIDSetNum(2)}}}}}); !slices.Equal(got, []goimap.UID{2}) {
		t.Errorf("OR LARGER 1M UID 2 = %v", got)
	}

	sd, err := c.UIDSort(&imapclient.SortOptions{SortCriteria: []goimap.SortCriterion{{Key: goimap.SortKeySubject}}, SearchCriteria: &goimap.SearchCriteria{}}).Wait()
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(sd.UIDs, []goimap.UID{2, 3, 1}) {
		t.Errorf("SORT SUBJECT = %v, want apple, café, zebra", sd)
	}

	id, err := c.ID(&goimap.IDData{Name: "test"}).Wait()
	if err != nil || id == nil || id.Name != "Postern" {
		t.Errorf("ID = %+v, %v", id, err)
	}

	// CONDSTORE: MODSEQ grows with a flag change and CHANGEDSINCE returns only it.
	msgs, err := c.Fetch(goimap.SeqSetNum(1, 2, 3), &goimap.FetchOptions{UID: true, ModSeq: true}).Collect()
	if err != nil {
		t.Fatal(err)
	}
	var high uint64
	for _, m := range msgs {
		high = max(high, m.ModSeq)
	}
	if err := c.Store(goimap.SeqSetNum(3), &goimap.StoreFlags{Op: goimap.StoreFlagsAdd, Silent: true, Flags: []goimap.Flag{"$Junk"}}, nil).Close(); err != nil {
		t.Fatal(err)
	}
	changed, err := c.Fetch(goimap.SeqSetNum(1, 2, 3), &goimap.FetchOptions{UID: true, Flags: true, ChangedSince: high}).Collect()
	if err != nil {
		t.Fatal(err)
	}
	if len(changed) != 1 || changed[0].UID != 3 || changed[0].ModSeq <= high || !slices.Contains(changed[0].Flags, "$Junk") {
		t.Errorf("CHANGEDSINCE %d = %+v", high, changed)
	}
	kw, err := os.ReadFile(filepath.Join(e.root("alice@example.org"), "dovecot-keywords"))
	if err != nil || !strings.Contains(string(kw), "$Junk") {
		t.Errorf("dovecot-keywords = %q, %v", kw, err)
	}
}

func TestDroppedFilePickedUpOnNoop(t *testing.T) {
	t.Parallel()
	e := newEnv(t, "alice@example.org")
	c := e.dial("alice@example.org", nil)
	e.selectBox(c, "INBOX")
	// Another program drops a message into cur/ (mtime in the past, as mbsync would).
	p := filepath.Join(e.root("alice@example.org"), "cur", "1700000000.M1P1.other:2,S")
	if err := os.WriteFile(p, []byte(testMessage("dropped", "x")), 0o600); err != nil {
		t.Fatal(err)
	}
	old := time.Now().Add(-time.Hour)
	if err := os.Chtimes(p, old, old); err != nil {
		t.Fatal(err)
	}
	if err := c.Noop().Wait(); err != nil {
		t.Fatal(err)
	}
	msgs, err := c.Fetch(goimap.SeqSetNum(1), &goimap.FetchOptions{Flags: true, Envelope: true}).Collect()
	if err != nil {
		t.Fatal(err)
	}
	if len(msgs) != 1 || msgs[0].Envelope.Subject != "dropped" || !slices.Contains(msgs[0].Flags, goimap.FlagSeen) {
		t.Fatalf("after NOOP: %+v", msgs)
	}
}

func TestQuotaOnAppend(t *testing.T) {
	t.Parallel()
	e := newEnv(t, "alice@example.org")
	if err := e.st.SetQuota(t.Context(), "alice@example.org", 300); err != nil {
		t.Fatal(err)
	}
	c := e.dial("alice@example.org", nil)
	e.appendMsg(c, "INBOX", testMessage("small", "x"))
	cmd := c.Append("INBOX", 400, nil)
	cmd.Write([]byte(strings.Repeat("x", 400)))
	cmd.Close()
	_, err := cmd.Wait()
	var ie *goimap.Error
	if err == nil || !errorAs(err, &ie) || ie.Code != goimap.ResponseCodeOverQuota {
		t.Fatalf("APPEND over quota: %v", err)
	}
	if got := files(t, e.root("alice@example.org"), "new"); len(got) != 1 {
		t.Errorf("new/ = %v, want only the first message", got)
	}
}

// TestPythonImaplib drives the server with Python's imaplib, as users' scripts do.
func TestPythonImaplib(t *testing.T) {
	t.Parallel()
	py, err := exec.LookPath("python3")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("python3 missing")
		}
		t.Skip("python3 not installed")
	}
	e := newEnv(t, "alice@example.org")
	host, port, _ := strings.Cut(e.tlsAddr, ":")
	script := `
import imaplib, ssl, sys
ctx = ssl.create_default_context(); ctx.check_hostname = False; ctx.verify_mode = ssl.CERT_NONE
m = imaplib.IMAP4_SSL(sys.argv[1], int(sys.argv[2]), ssl_context=ctx)
m.login("alice@example.org", sys.argv[3])
typ, boxes = m.list()
assert any(b'\\Sent' in b and b'"Sent"' in b for b in boxes), boxes
typ, _ = m.append("INBOX", None, None, b"Subject: py\r\n\r\nfrom python\r\n")
assert typ == "OK"
typ, data = m.select("INBOX")
assert data[0] == b"1", data
typ, data = m.search(None, "SUBJECT", "py")
assert data[0] == b"1", data
typ, data = m.fetch("1", "(BODY[TEXT])")
assert b"from python" in data[0][1], data
m.store("1", "+FLAGS", "\\Seen")
typ, data = m.uid("MOVE", "1", "Archive")
assert typ == "OK", (typ, data)
typ, data = m.status("Archive", "(MESSAGES)")
assert b"MESSAGES 1" in data[0], data
m.logout()
print("ok")
`
	out, err := exec.CommandContext(t.Context(), py, "-c", script, host, port, testPassword).CombinedOutput()
	if err != nil || !strings.Contains(string(out), "ok") {
		t.Fatalf("imaplib: %v\n%s", err, out)
	}
}

func errorAs(err error, target any) bool { return errors.As(err, target) }
