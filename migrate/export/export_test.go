package export

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/postern/postern/migrate/dovecot"
	"github.com/postern/postern/store"
)

func openStore(t *testing.T) (*store.Store, string) {
	t.Helper()
	dir := t.TempDir()
	st, err := store.Open(context.Background(), filepath.Join(dir, "postern.db"), store.Options{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	st.AddDomain(context.Background(), "example.test")
	st.ImportUser(context.Background(), "alice@example.test", "{PLAIN}pw", store.UserOptions{})
	return st, dir
}

func write(t *testing.T, path, data string) {
	t.Helper()
	os.MkdirAll(filepath.Dir(path), 0o755)
	if err := os.WriteFile(path, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestMaildirRoundTrip: what Maildir writes, postern import dovecot takes back into
// another Postern with the same UIDVALIDITY, UIDNEXT, UIDs and flags.
func TestMaildirRoundTrip(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	st, dir := openStore(t)
	root := filepath.Join(dir, "mail", "example.test", "alice")
	write(t, filepath.Join(root, "cur", "1.M1P1.h,S=3,W=4:2,Sa"), "a\n\n")
	write(t, filepath.Join(root, "new", "2.M2P1.h,S=3,W=4"), "b\n\n")
	os.MkdirAll(filepath.Join(root, "tmp"), 0o755)
	write(t, filepath.Join(root, "dovecot-keywords"), "0 Important\n")
	write(t, filepath.Join(root, ".&AMk-t&AOk-.Sub", "cur", "3.M3P1.h,S=3,W=4:2,F"), "c\n\n")
	for _, d := range []string{"new", "tmp"} {
		os.MkdirAll(filepath.Join(root, ".&AMk-t&AOk-.Sub", d), 0o755)
	}
	now := time.Now()
	st.ImportMailbox(ctx, "alice@example.test", store.ImportedMailbox{Name: "INBOX", UIDValidity: 1234, UIDNext: 50, Subscribed: true, Messages: []store.ImportedMessage{
		{UID: 7, Filename: "1.M1P1.h,S=3,W=4", Size: 4, InternalDate: now, Flags: []string{`\Seen`, "Important"}},
		{UID: 9, Filename: "2.M2P1.h,S=3,W=4", Size: 4, InternalDate: now},
	}})
	st.ImportMailbox(ctx, "alice@example.test", store.ImportedMailbox{Name: "Été/Sub", UIDValidity: 99, UIDNext: 4, Messages: []store.ImportedMessage{
		{UID: 3, Filename: "3.M3P1.h,S=3,W=4", Size: 4, InternalDate: now, Flags: []string{`\Flagged`}},
	}})
	// Subscriptions outlive their mailboxes (store migration 0008): one of a deleted
	// mailbox and one of a name never created go out and come back too.
	st.CreateMailbox(ctx, "alice@example.test", "Gone", "")
	for _, n := range []string{"Gone", "Never/Été"} {
		if err := st.SetSubscribed(ctx, "alice@example.test", n, true); err != nil {
			t.Fatal(err)
		}
	}
	if err := st.DeleteMailbox(ctx, "alice@example.test", "Gone"); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(t.TempDir(), "out")
	rep, err := Maildir(ctx, st, "alice@example.test", root, out)
	if err != nil || rep.Messages != 3 || len(rep.Missing) != 0 || rep.Subscriptions != 3 {
		t.Fatalf("export: %+v %v", rep, err)
	}
	ul, _ := os.ReadFile(filepath.Join(out, "dovecot-uidlist"))
	if !strings.HasPrefix(string(ul), "3 V1234 N50 G") || !strings.Contains(string(ul), "\n7 :1.M1P1.h,S=3,W=4\n9 :2.M2P1.h,S=3,W=4\n") {
		t.Fatalf("uidlist:\n%s", ul)
	}

	st2, dir2 := openStore(t)
	im := dovecot.NewImporter(st2, dovecot.Options{MailRoot: filepath.Join(dir2, "mail"), Owner: -1})
	if r, err := im.ImportUser(ctx, dovecot.UserSource{Address: "alice@example.test", Maildir: out}, nil); err != nil || len(r.Errors) > 0 {
		t.Fatalf("re-import: %v %v", err, r.Errors)
	}
	if subs, err := os.ReadFile(filepath.Join(out, "subscriptions")); err != nil || string(subs) != "V\t2\n\nGone\nINBOX\nNever\t&AMk-t&AOk-\n" {
		t.Errorf("subscriptions file %q %v", subs, err)
	}
	a, _ := st.Subscriptions(ctx, "alice@example.test")
	if b, err := st2.Subscriptions(ctx, "alice@example.test"); err != nil || strings.Join(a, ",") != strings.Join(b, ",") {
		t.Errorf("subscriptions: exported %q, re-imported %q %v", a, b, err)
	}
	for _, name := range []string{"INBOX", "Été/Sub"} {
		a, _ := st.GetMailbox(ctx, "alice@example.test", name)
		b, err := st2.GetMailbox(ctx, "alice@example.test", name)
		if err != nil || a.UIDValidity != b.UIDValidity || a.UIDNext != b.UIDNext || a.Messages != b.Messages || a.Subscribed != b.Subscribed {
			t.Fatalf("%s: exported %+v, re-imported %+v %v", name, a, b, err)
		}
		am, _ := st.ListMessages(ctx, a.ID, 0)
		bm, _ := st2.ListMessages(ctx, b.ID, 0)
		for i := range am {
			if am[i].UID != bm[i].UID || strings.Join(am[i].Flags, " ") != strings.Join(bm[i].Flags, " ") {
				t.Fatalf("%s message %d: %+v vs %+v", name, i, am[i], bm[i])
			}
		}
	}
}

func TestMboxQuote(t *testing.T) {
	t.Parallel()
	var b bytes.Buffer
	if err := MboxQuote(&b, strings.NewReader("Subject: x\r\n\r\nFrom here\r\n>From there\r\nFromage\r\n")); err != nil {
		t.Fatal(err)
	}
	if want := "Subject: x\n\n>From here\n>>From there\nFromage\n\n"; b.String() != want {
		t.Fatalf("got %q, want %q", b.String(), want)
	}
}
