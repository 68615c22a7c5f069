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

// fileinto :specialuse (RFC 8579) files into the mailbox that has the attribute whatever
// its name, falls back to the named mailbox when none has it, and with :create makes the
// named mailbox with the attribute.
func TestSieveHookFileIntoSpecialUse(t *testing.T) {
	t.Parallel()
	h, st := hookWith(t, config.Sieve{})
	ctx := context.Background()
	put := func(user, src string) { t.Helper(); putActive(t, st, user, src) }
	into := func(user string) []placement {
		t.Helper()
		return decide(t, h, user, user, "Subject: cheap pills\r\n\r\nx\r\n").Placements
	}
	const script = `require ["fileinto", "special-use"]; fileinto :specialuse "\\Junk" "Spam";`
	alice, bob, carol := "alice@example.test", "bob@example.test", "carol@example.test"

	// alice's \Junk mailbox is called "Unwanted": the message goes there, not to "Spam".
	for _, mb := range []struct{ name, use string }{{"Spam", ""}, {"Unwanted", `\Junk`}} {
		if _, err := st.EnsureMailbox(ctx, alice, mb.name, mb.use); err != nil {
			t.Fatal(err)
		}
	}
	put(alice, script)
	if got := into(alice); !reflect.DeepEqual(got, []placement{{Mailbox: "Unwanted"}}) {
		t.Errorf("alice: %+v, want Unwanted (her \\Junk mailbox)", got)
	}

	// bob has no \Junk mailbox but has "Spam": the named mailbox.
	if _, err := st.EnsureMailbox(ctx, bob, "Spam", ""); err != nil {
		t.Fatal(err)
	}
	put(bob, script)
	if got := into(bob); !reflect.DeepEqual(got, []placement{{Mailbox: "Spam"}}) {
		t.Errorf("bob: %+v, want Spam", got)
	}

	// carol has neither: without :create INBOX (as fileinto a missing mailbox), with
	// :create "Spam" is made and carries \Junk, so the next fileinto finds it by attribute.
	put(carol, script)
	if got := into(carol); !reflect.DeepEqual(got, []placement{{Mailbox: "INBOX"}}) {
		t.Errorf("carol without :create: %+v, want INBOX", got)
	}
	put(carol, `require ["fileinto", "special-use", "mailbox"]; fileinto :specialuse "\\Junk" :create "Spam";`)
	if got := into(carol); !reflect.DeepEqual(got, []placement{{Mailbox: "Spam", Create: true}}) {
		t.Errorf("carol with :create: %+v, want Spam created", got)
	}
	if mb, err := st.GetMailbox(ctx, carol, "Spam"); err != nil || mb.SpecialUse != `\Junk` {
		t.Errorf("carol's Spam: %+v %v, want it created with \\Junk", mb, err)
	}
	// specialuse_exists sees it too.
	put(carol, `require ["fileinto", "special-use"]; if specialuse_exists "\\Junk" { fileinto "Found"; }`)
	if _, err := st.EnsureMailbox(ctx, carol, "Found", ""); err != nil {
		t.Fatal(err)
	}
	if got := into(carol); !reflect.DeepEqual(got, []placement{{Mailbox: "Found"}}) {
		t.Errorf("specialuse_exists: %+v", got)
	}
}

// [sieve] spamtest reaches delivery: the score is read from the configured header and
// scaled by the configured max, not from Rspamd's X-Spam-Score.
func TestSieveHookSpamTestConfig(t *testing.T) {
	t.Parallel()
	h, st := hookWith(t, config.Sieve{SpamTest: config.ScoreTest{StatusType: "score", StatusHeader: "X-Score", MaxValue: 4}})
	const alice = "alice@example.test"
	putActive(t, st, alice, `require ["fileinto", "spamtest", "relational", "comparator-i;ascii-numeric"];
if spamtest :value "ge" :comparator "i;ascii-numeric" "10" { fileinto "Junk"; }`)
	if _, err := st.EnsureMailbox(context.Background(), alice, "Junk", `\Junk`); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ hdr, want string }{
		{"X-Score: 4.0", "Junk"},
		{"X-Score: 3.9", "INBOX"},
		{"X-Spam-Score: 15", "INBOX"}, // the built-in header is not read once one is configured
	} {
		d := decide(t, h, alice, alice, tc.hdr+"\r\nSubject: x\r\n\r\nx\r\n")
		if len(d.Placements) != 1 || d.Placements[0].Mailbox != tc.want {
			t.Errorf("%s: %+v, want %s", tc.hdr, d.Placements, tc.want)
		}
	}
	if _, err := newSieveHook(config.Sieve{SpamTest: config.ScoreTest{StatusHeader: "X-Score: ("}}, st, discardLog(), "+"); err == nil {
		t.Error("a bad status_header regex built a hook")
	}
}

// hookWith is a Sieve hook with cfg over the test store.
func hookWith(t *testing.T, cfg config.Sieve) (*sieveHook, *store.Store) {
	t.Helper()
	_, st, _ := testAgent(t)
	h, err := newSieveHook(cfg, st, discardLog(), "+")
	if err != nil {
		t.Fatal(err)
	}
	return h, st
}
