package deliver

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/postern/postern/server/config"
	"github.com/postern/postern/smtp"
	"github.com/postern/postern/store"
)

func decide(t *testing.T, h *sieveHook, user, rcpt, msg string) decision {
	t.Helper()
	d, err := h.Decide(context.Background(), &hookInput{User: user, Recipient: rcpt, Envelope: testEnvelope(rcpt), Message: smtp.BytesMessage(msg)})
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func TestSieveHookOrderAndMerge(t *testing.T) {
	t.Parallel()
	_, st, _ := testAgent(t)
	ctx := context.Background()
	dir := t.TempDir()
	after := filepath.Join(dir, "after.sieve")
	if err := os.WriteFile(after, []byte(`require ["imap4flags"]; if header :contains "Subject" "urgent" { addflag "\\Flagged"; }`), 0o644); err != nil {
		t.Fatal(err)
	}
	h, err := newSieveHook(config.Sieve{SpamToJunk: true, After: after}, st, discardLog(), "+")
	if err != nil {
		t.Fatal(err)
	}
	if err := st.PutScript(ctx, "alice@example.test", "main", `require ["fileinto", "subaddress", "envelope", "mailbox"];
if header :contains "List-Id" "<golang-nuts.googlegroups.com>" { fileinto "Lists/golang"; }
elsif envelope :detail "to" "receipts" { fileinto :create "Receipts"; }`); err != nil {
		t.Fatal(err)
	}
	if err := st.SetActive(ctx, "alice@example.test", "main"); err != nil {
		t.Fatal(err)
	}

	// No user script (bob): spam rule only.
	if d := decide(t, h, "bob@example.test", "bob@example.test", "X-Spam: Yes\r\nSubject: win\r\n\r\nx\r\n"); !reflect.DeepEqual(d.Placements, []placement{{Mailbox: "Junk", Create: true}}) {
		t.Fatalf("spam for bob: %+v", d)
	}
	if d := decide(t, h, "bob@example.test", "bob@example.test", "Subject: hello\r\n\r\nx\r\n"); !reflect.DeepEqual(d.Placements, []placement{{Mailbox: "INBOX"}}) {
		t.Fatalf("ham for bob: %+v", d)
	}
	// The user script files lists; Lists/golang does not exist and has no :create: INBOX.
	if d := decide(t, h, "alice@example.test", "alice@example.test", "List-Id: Go <golang-nuts.googlegroups.com>\r\n\r\nx\r\n"); !reflect.DeepEqual(d.Placements, []placement{{Mailbox: "INBOX"}}) {
		t.Fatalf("list mail to a missing folder: %+v", d)
	}
	if _, err := st.EnsureMailbox(ctx, "alice@example.test", "Lists/golang", ""); err != nil {
		t.Fatal(err)
	}
	if d := decide(t, h, "alice@example.test", "alice@example.test", "List-Id: Go <golang-nuts.googlegroups.com>\r\n\r\nx\r\n"); !reflect.DeepEqual(d.Placements, []placement{{Mailbox: "Lists/golang"}}) {
		t.Fatalf("list mail: %+v", d)
	}
	// Subaddress with :create.
	d := decide(t, h, "alice@example.test", "alice+receipts@example.test", "Subject: your order\r\n\r\nx\r\n")
	if !reflect.DeepEqual(d.Placements, []placement{{Mailbox: "Receipts", Create: true}}) {
		t.Fatalf("+receipts: %+v", d)
	}
	// The after script's flag lands on the implicit keep.
	d = decide(t, h, "alice@example.test", "alice@example.test", "Subject: urgent thing\r\n\r\nx\r\n")
	if !reflect.DeepEqual(d.Placements, []placement{{Mailbox: "INBOX", Flags: []string{`\Flagged`}}}) {
		t.Fatalf("after script flags: %+v", d)
	}
}

func TestSieveHookBrokenUserScriptKeeps(t *testing.T) {
	t.Parallel()
	a, st, mail := testAgent(t)
	ctx := context.Background()
	h, err := newSieveHook(config.Sieve{SpamToJunk: true}, st, discardLog(), "+")
	if err != nil {
		t.Fatal(err)
	}
	a.hook = h
	// A script that fails at run time (reject together with a store, as Pigeonhole
	// says): the message is still delivered, to INBOX, and nothing else happens.
	if err := st.PutScript(ctx, "carol@example.test", "bad", `require ["reject", "fileinto"]; fileinto "Junk"; reject "go away";`); err != nil {
		t.Fatal(err)
	}
	if err := st.SetActive(ctx, "carol@example.test", "bad"); err != nil {
		t.Fatal(err)
	}
	if errs := a.Deliver(ctx, testEnvelope("carol@example.test"), smtp.BytesMessage("Subject: x\r\n\r\ny\r\n")); errs[0] != nil {
		t.Fatal(errs[0])
	}
	if n := len(inboxFiles(t, mail, "carol")); n != 1 {
		t.Fatalf("INBOX has %d", n)
	}
	if entries, _ := os.ReadDir(filepath.Join(mail, "example.test", "carol", ".Junk", "new")); len(entries) != 0 {
		t.Fatal("a failed run stored into Junk")
	}
}

// The compiled script is reused between deliveries, and every kind of script change is
// seen by the next delivery: a new active script, an edit of an included script,
// deactivation, and the user's removal and re-creation.
func TestSieveHookSeesEveryScriptChange(t *testing.T) {
	t.Parallel()
	_, st, _ := testAgent(t)
	ctx := context.Background()
	h, err := newSieveHook(config.Sieve{}, st, discardLog(), "+")
	if err != nil {
		t.Fatal(err)
	}
	const alice = "alice@example.test"
	msg := "Subject: hello\r\n\r\nx\r\n"
	place := func(want string) {
		t.Helper()
		d := decide(t, h, alice, alice, msg)
		if len(d.Placements) != 1 || d.Placements[0].Mailbox != want {
			t.Fatalf("placements %+v, want one in %s", d.Placements, want)
		}
	}
	place("INBOX")
	put := func(name, src string) {
		t.Helper()
		if err := st.PutScript(ctx, alice, name, src); err != nil {
			t.Fatal(err)
		}
	}
	put("rules", `require ["include"]; include :personal "where";`)
	put("where", `require ["fileinto", "mailbox"]; fileinto :create "One";`)
	place("INBOX") // stored, not active yet
	if err := st.SetActive(ctx, alice, "rules"); err != nil {
		t.Fatal(err)
	}
	place("One")
	first := h.cache[alice].script
	place("One")
	if h.cache[alice].script != first {
		t.Fatal("an unchanged script was compiled again")
	}
	put("where", `require ["fileinto", "mailbox"]; fileinto :create "Two";`) // only the included script changes
	place("Two")
	if err := st.SetActive(ctx, alice, ""); err != nil {
		t.Fatal(err)
	}
	place("INBOX")
	if err := st.SetActive(ctx, alice, "rules"); err != nil {
		t.Fatal(err)
	}
	place("Two")
	if err := st.RemoveUser(ctx, alice); err != nil {
		t.Fatal(err)
	}
	if _, err := st.AddUser(ctx, alice, "a-long-password-1", store.UserOptions{}); err != nil {
		t.Fatal(err)
	}
	place("INBOX")
}

// openCounter is a message that counts its opens.
type openCounter struct {
	smtp.BytesMessage
	opens *int
}

func (m openCounter) Open() (io.ReadCloser, error) { *m.opens++; return m.BytesMessage.Open() }

// TestSieveHookReadsOncePerDelivery: the runs of several users of one delivery share
// one parse of the message: the header is read once, the body once when a body test
// asks for it, whatever the number of recipients (issue 14: it was read whole once per
// recipient).
func TestSieveHookReadsOncePerDelivery(t *testing.T) {
	t.Parallel()
	_, st, _ := testAgent(t)
	ctx := context.Background()
	h, err := newSieveHook(config.Sieve{SpamToJunk: true}, st, discardLog(), "+")
	if err != nil {
		t.Fatal(err)
	}
	if err := st.PutScript(ctx, "alice@example.test", "main", `require ["fileinto", "body", "mailbox"];
if body :contains "needle" { fileinto :create "Found"; }`); err != nil {
		t.Fatal(err)
	}
	if err := st.SetActive(ctx, "alice@example.test", "main"); err != nil {
		t.Fatal(err)
	}
	opens := 0
	msg := openCounter{smtp.BytesMessage("Subject: s\r\n\r\na needle\r\n"), &opens}
	parsed := &parsedMessage{msg: msg}
	for range 5 {
		for _, u := range []string{"alice@example.test", "bob@example.test"} {
			d, err := h.Decide(ctx, &hookInput{User: u, Recipient: u, Envelope: testEnvelope(u), Message: msg, Parsed: parsed})
			if err != nil {
				t.Fatal(err)
			}
			want := "INBOX"
			if u == "alice@example.test" {
				want = "Found"
			}
			if len(d.Placements) != 1 || d.Placements[0].Mailbox != want {
				t.Errorf("%s: %+v, want %s", u, d.Placements, want)
			}
		}
	}
	if opens != 2 {
		t.Errorf("10 runs opened the message %d times, want 2 (header, body)", opens)
	}
}
