package imap

import (
	"bytes"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	goimap "github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
)

func TestLoginRefusedBeforeTLS(t *testing.T) {
	t.Parallel()
	e := newEnv(t, "alice@example.org")
	c, err := imapclient.DialInsecure(e.plain, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	caps, err := c.Capability().Wait()
	if err != nil {
		t.Fatal(err)
	}
	if !caps.Has(goimap.CapLoginDisabled) || !caps.Has(goimap.CapStartTLS) {
		t.Errorf("caps before TLS = %v, want LOGINDISABLED and STARTTLS", caps)
	}
	if err := c.Login("alice@example.org", testPassword).Wait(); err == nil {
		t.Fatal("LOGIN without TLS succeeded")
	}
	// After STARTTLS the same login works.
	c2, err := imapclient.DialStartTLS(e.plain, &imapclient.Options{TLSConfig: e.clientTL})
	if err != nil {
		t.Fatal(err)
	}
	defer c2.Close()
	if err := c2.Login("alice@example.org", testPassword).Wait(); err != nil {
		t.Fatalf("login after STARTTLS: %v", err)
	}
}

func TestWrongPasswordRefused(t *testing.T) {
	t.Parallel()
	e := newEnv(t, "alice@example.org")
	c, err := imapclient.DialTLS(e.tlsAddr, &imapclient.Options{TLSConfig: e.clientTL})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Login("alice@example.org", "wrong").Wait(); err == nil {
		t.Fatal("wrong password accepted")
	}
}

func TestListSpecialUse(t *testing.T) {
	t.Parallel()
	e := newEnv(t, "alice@example.org")
	c := e.dial("alice@example.org", nil)
	if err := c.Create("Archive/2024", nil).Wait(); err != nil {
		t.Fatal(err)
	}
	list, err := c.List("", "*", nil).Collect()
	if err != nil {
		t.Fatal(err)
	}
	attrs := map[string][]goimap.MailboxAttr{}
	for _, l := range list {
		attrs[l.Mailbox] = l.Attrs
	}
	for name, want := range map[string]goimap.MailboxAttr{
		"Sent": goimap.MailboxAttrSent, "Drafts": goimap.MailboxAttrDrafts, "Junk": goimap.MailboxAttrJunk,
		"Trash": goimap.MailboxAttrTrash, "Archive": goimap.MailboxAttrArchive,
	} {
		if !slices.Contains(attrs[name], want) {
			t.Errorf("%s attrs = %v, want %s", name, attrs[name], want)
		}
	}
	if !slices.Contains(attrs["Archive"], goimap.MailboxAttrHasChildren) {
		t.Errorf("Archive attrs = %v, want \\HasChildren", attrs["Archive"])
	}
	if !slices.Contains(attrs["INBOX"], goimap.MailboxAttrHasNoChildren) {
		t.Errorf("INBOX attrs = %v", attrs["INBOX"])
	}
	if _, ok := attrs["Archive/2024"]; !ok {
		t.Errorf("Archive/2024 not listed: %v", list)
	}
	// The folder exists on disk as Maildir++ .Archive.2024.
	if files(t, filepath.Join(e.root("alice@example.org"), ".Archive.2024"), "cur") == nil {
		t.Log("empty cur as expected")
	}
}

func TestAppendFetchStoreMoveExpunge(t *testing.T) {
	t.Parallel()
	e := newEnv(t, "alice@example.org")
	c := e.dial("alice@example.org", nil)
	msg := testMessage("hello", "First line\nsecond line")
	ad := e.appendMsg(c, "INBOX", msg)
	if ad.UID != 1 {
		t.Errorf("APPENDUID uid = %d", ad.UID)
	}
	e.selectBox(c, "INBOX")
	msgs, err := c.Fetch(goimap.SeqSetNum(1), &goimap.FetchOptions{
		UID: true, Flags: true, RFC822Size: true, InternalDate: true, Envelope: true,
		BodyStructure: &goimap.FetchItemBodyStructure{}, BodySection: []*goimap.FetchItemBodySection{{Peek: true}},
	}).Collect()
	if err != nil {
		t.Fatal(err)
	}
	if len(msgs) != 1 {
		t.Fatalf("fetched %d messages", len(msgs))
	}
	m := msgs[0]
	if m.Envelope == nil || m.Envelope.Subject != "hello" || len(m.Envelope.From) != 1 || m.Envelope.From[0].Host != "example.net" {
		t.Errorf("envelope = %+v", m.Envelope)
	}
	if m.RFC822Size != int64(len(msg)) {
		t.Errorf("RFC822.SIZE = %d, want %d", m.RFC822Size, len(msg))
	}
	body := m.FindBodySection(&goimap.FetchItemBodySection{})
	if !bytes.Equal(body, []byte(msg)) {
		t.Errorf("BODY[] = %q", body)
	}
	if bs, ok := m.BodyStructure.(*goimap.BodyStructureSinglePart); !ok || bs.Type != "text" {
		t.Errorf("bodystructure = %#v", m.BodyStructure)
	}
	if slices.Contains(m.Flags, goimap.FlagSeen) {
		t.Errorf("BODY.PEEK set \\Seen: %v", m.Flags)
	}

	// STORE \Seen: visible in the Maildir file name.
	if err := c.Store(goimap.SeqSetNum(1), &goimap.StoreFlags{Op: goimap.StoreFlagsAdd, Flags: []goimap.Flag{goimap.FlagSeen}}, nil).Close(); err != nil {
		t.Fatal(err)
	}
	cur := files(t, e.root("alice@example.org"), "cur")
	if len(cur) != 1 || !strings.HasSuffix(cur[0], ":2,S") {
		t.Errorf("cur/ = %v, want one file ending :2,S", cur)
	}

	// MOVE to Archive.
	if _, err := c.Move(goimap.SeqSetNum(1), "Archive").Wait(); err != nil {
		t.Fatal(err)
	}
	if got := files(t, e.root("alice@example.org"), "cur"); len(got) != 0 {
		t.Errorf("INBOX cur/ after MOVE = %v", got)
	}
	arch := files(t, filepath.Join(e.root("alice@example.org"), ".Archive"), "cur")
	if len(arch) != 1 || !strings.HasSuffix(arch[0], ":2,S") {
		t.Errorf("Archive cur/ = %v", arch)
	}
	sd := e.selectBox(c, "Archive")
	if sd.NumMessages != 1 {
		t.Errorf("Archive has %d messages", sd.NumMessages)
	}

	// EXPUNGE a \Deleted message.
	if err := c.Store(goimap.SeqSetNum(1), &goimap.StoreFlags{Op: goimap.StoreFlagsAdd, Silent: true, Flags: []goimap.Flag{goimap.FlagDeleted}}, nil).Close(); err != nil {
		t.Fatal(err)
	}
	exp, err := c.Expunge().Collect()
	if err != nil {
		t.Fatal(err)
	}
	if len(exp) != 1 || exp[0] != 1 {
		t.Errorf("expunged %v", exp)
	}
	if got := files(t, filepath.Join(e.root("alice@example.org"), ".Archive"), "cur"); len(got) != 0 {
		t.Errorf("Archive cur/ after EXPUNGE = %v", got)
	}
	st, err := c.Status("Archive", &goimap.StatusOptions{NumMessages: true, Size: true}).Wait()
	if err != nil {
		t.Fatal(err)
	}
	if *st.NumMessages != 0 || *st.Size != 0 {
		t.Errorf("status = %d messages, %d bytes", *st.NumMessages, *st.Size)
	}
}

func TestSecondSessionSeesChanges(t *testing.T) {
	t.Parallel()
	e := newEnv(t, "alice@example.org")
	a := e.dial("alice@example.org", nil)
	e.appendMsg(a, "INBOX", testMessage("one", "x"))
	e.appendMsg(a, "INBOX", testMessage("two", "y"))
	e.selectBox(a, "INBOX")

	flagged := make(chan uint32, 10)
	expunged := make(chan uint32, 10)
	exists := make(chan uint32, 10)
	b := e.dial("alice@example.org", &imapclient.UnilateralDataHandler{
		Fetch: func(m *imapclient.FetchMessageData) {
			flagged <- m.SeqNum
			for m.Next() != nil {
			}
		},
		Expunge: func(seq uint32) { expunged <- seq },
		Mailbox: func(d *imapclient.UnilateralDataMailbox) {
			if d.NumMessages != nil {
				exists <- *d.NumMessages
			}
		},
	})
	e.selectBox(b, "INBOX")

	if err := a.Store(goimap.SeqSetNum(2), &goimap.StoreFlags{Op: goimap.StoreFlagsAdd, Flags: []goimap.Flag{goimap.FlagFlagged}}, nil).Close(); err != nil {
		t.Fatal(err)
	}
	if err := b.Noop().Wait(); err != nil {
		t.Fatal(err)
	}
	if got := recv(t, flagged); got != 2 {
		t.Errorf("b saw a flag change for %d, want 2", got)
	}
	e.appendMsg(a, "INBOX", testMessage("three", "z"))
	if err := a.Store(goimap.SeqSetNum(1), &goimap.StoreFlags{Op: goimap.StoreFlagsAdd, Flags: []goimap.Flag{goimap.FlagDeleted}}, nil).Close(); err != nil {
		t.Fatal(err)
	}
	if err := a.Expunge().Close(); err != nil {
		t.Fatal(err)
	}
	if err := b.Noop().Wait(); err != nil {
		t.Fatal(err)
	}
	// First the expunge of message 1 (two left), then the new message: EXISTS 3-1 = 2.
	if got := recv(t, expunged); got != 1 {
		t.Errorf("b saw EXPUNGE %d, want 1", got)
	}
	if got := recv(t, exists); got != 2 {
		t.Errorf("b saw EXISTS %d, want 2", got)
	}
}

// recv waits for one value the client's handler goroutine reports.
func recv(t *testing.T, ch <-chan uint32) uint32 {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(5 * time.Second):
		t.Fatal("no unsolicited response")
		return 0
	}
}

func TestIdleWakesOnMailboxChanged(t *testing.T) {
	t.Parallel()
	e := newEnv(t, "alice@example.org")
	got := make(chan uint32, 4)
	c := e.dial("alice@example.org", &imapclient.UnilateralDataHandler{
		Mailbox: func(d *imapclient.UnilateralDataMailbox) {
			if d.NumMessages != nil {
				got <- *d.NumMessages
			}
		},
	})
	e.selectBox(c, "INBOX")
	idle, err := c.Idle()
	if err != nil {
		t.Fatal(err)
	}
	// A delivery: file into new/ with mtime now, indexed, then MailboxChanged.
	root := e.root("alice@example.org")
	d, err := (&mdHelper{root}).deliver(t, testMessage("pushed", "hi"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.st.AddMessages(t.Context(), []storeNewMessage{d}); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	e.srv.MailboxChanged("alice@example.org", "INBOX")
	select {
	case n := <-got:
		if n != 1 {
			t.Errorf("EXISTS %d, want 1", n)
		}
		// Only the notification can wake IDLE this early: its own recheck is idleRecheck.
		// (A wall-clock bound tighter than that would fail on a loaded machine, not on a bug.)
		if el := time.Since(start); el >= idleRecheck {
			t.Errorf("IDLE woke after %v, by its recheck rather than the notification", el)
		}
	case <-time.After(idleRecheck / 2):
		t.Fatal("IDLE did not report the delivery")
	}
	if err := idle.Close(); err != nil {
		t.Fatal(err)
	}
	if err := idle.Wait(); err != nil {
		t.Fatal(err)
	}
}

func TestMailboxNamesCannotEscape(t *testing.T) {
	t.Parallel()
	e := newEnv(t, "alice@example.org", "bob@example.org")
	c := e.dial("alice@example.org", nil)
	for _, name := range []string{"../../etc", "..", "a/../../b", "/etc", ".hidden/..", "INBOX/../../x"} {
		if _, err := c.Select(name, nil).Wait(); err == nil {
			t.Errorf("SELECT %q succeeded", name)
		}
		if err := c.Create(name, nil).Wait(); err == nil && strings.Contains(name, "..") {
			t.Errorf("CREATE %q succeeded", name)
		}
	}
	// Nothing appeared outside alice's Maildir.
	if got := files(t, filepath.Join(e.state, "mail", "example.org"), ""); !slices.Equal(got, []string{"alice", "bob"}) && !slices.Equal(got, []string{"alice"}) {
		t.Errorf("mail/example.org = %v", got)
	}
}

func TestUsersAreIsolated(t *testing.T) {
	t.Parallel()
	e := newEnv(t, "alice@example.org", "bob@example.org")
	bob := e.dial("bob@example.org", nil)
	if err := bob.Create("Secret", nil).Wait(); err != nil {
		t.Fatal(err)
	}
	e.appendMsg(bob, "Secret", testMessage("private", "bob only"))
	alice := e.dial("alice@example.org", nil)
	if _, err := alice.Select("Secret", nil).Wait(); err == nil {
		t.Error("alice selected bob's Secret")
	}
	list, err := alice.List("", "*", nil).Collect()
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range list {
		if l.Mailbox == "Secret" {
			t.Error("alice lists bob's Secret")
		}
	}
	sd := e.selectBox(alice, "INBOX")
	if sd.NumMessages != 0 {
		t.Errorf("alice's INBOX has %d messages", sd.NumMessages)
	}
}
