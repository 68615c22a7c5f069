package integration

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
)

// TestReindexPicksUpForeignMail: mail put into the Maildir by another tool (an old MDA, a
// restore from backup) and mail removed behind our back are brought into the index by
// `postern reindex`, and the UIDs of mail already known are kept.
func TestReindexPicksUpForeignMail(t *testing.T) {
	t.Parallel()
	s := NewServer(t, Options{})
	rxSetup(t, s, "alice")
	if out, code := rxSwaks(t, s, "--to", "alice@example.test", "--from", "sender@example.org", "--header", "Subject: via smtp"); code != 0 {
		t.Fatalf("swaks: %s", out)
	}
	inbox := rxUserDir(s, "alice@example.test")
	before := rxIndexed(t, s, "alice@example.test", "INBOX")
	if len(before) != 1 {
		t.Fatalf("index before: %v", before)
	}

	// Another program drops two messages, one of them already seen, and one into Archive.
	drop := func(dir, name string) {
		if err := os.WriteFile(filepath.Join(dir, name), []byte("Subject: dropped\r\n\r\nhello\r\n"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	drop(filepath.Join(inbox, "new"), "1700000000.M1P1.otherhost")
	drop(filepath.Join(inbox, "cur"), "1700000001.M2P2.otherhost:2,S")
	drop(filepath.Join(inbox, ".Archive", "cur"), "1700000002.M3P3.otherhost:2,")

	var res []struct {
		Mailbox string `json:"mailbox"`
		Kept    int    `json:"kept"`
		Added   int    `json:"added"`
		Removed int    `json:"removed"`
	}
	if err := json.Unmarshal([]byte(s.MustCLI("reindex", "alice@example.test", "--json")), &res); err != nil {
		t.Fatal(err)
	}
	got := map[string][3]int{}
	for _, r := range res {
		got[r.Mailbox] = [3]int{r.Kept, r.Added, r.Removed}
	}
	if got["INBOX"] != [3]int{1, 2, 0} || got["Archive"] != [3]int{0, 1, 0} {
		t.Fatalf("reindex result %+v", res)
	}
	after := rxIndexed(t, s, "alice@example.test", "INBOX")
	if len(after) != 3 || after[0] != before[0] {
		t.Fatalf("index after: %v (the first message must keep its UID: %v)", after, before)
	}
	rxCheckIndexMatches(t, s, "alice@example.test")

	// A message deleted by another tool disappears from the index.
	if err := os.Remove(filepath.Join(inbox, "new", "1700000000.M1P1.otherhost")); err != nil {
		t.Fatal(err)
	}
	s.MustCLI("reindex", "alice@example.test")
	if n := len(rxIndexed(t, s, "alice@example.test", "INBOX")); n != 2 {
		t.Fatalf("after removal the index has %d entries, want 2", n)
	}
	rxCheckIndexMatches(t, s, "alice@example.test")

	if r := s.CLI("", "reindex", "nobody@example.test"); r.Code == 0 {
		t.Fatal("reindex of an unknown user succeeded")
	}
}
