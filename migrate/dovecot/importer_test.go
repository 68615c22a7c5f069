package dovecot

import (
	"context"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/postern/postern/store"
)

func write(t *testing.T, path, data string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
}

// dovecotHome builds a small Dovecot home: INBOX with two numbered messages and one
// Dovecot has not numbered yet, a keyword folder, subscriptions and an active script.
func dovecotHome(t *testing.T) string {
	home := t.TempDir()
	md := filepath.Join(home, "Maildir")
	for _, d := range []string{"tmp", "new", "cur", ".Lists.golang/tmp", ".Lists.golang/new", ".Lists.golang/cur"} {
		if err := os.MkdirAll(filepath.Join(md, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	write(t, filepath.Join(md, "cur", "1000.M1P1.vm,S=10,W=12:2,S"), "a: b\n\nhi\n\n")
	write(t, filepath.Join(md, "cur", "1001.M2P1.vm,S=10,W=12:2,Fa"), "a: b\n\nhi\n\n")
	write(t, filepath.Join(md, "new", "1002.M3P1.vm"), "a: b\n\nhi\n\n")
	write(t, filepath.Join(md, "dovecot-uidlist"), "3 V1700000000 N3 Gabc\n7 :1000.M1P1.vm,S=10,W=12\n9 :1001.M2P1.vm,S=10,W=12\n")
	write(t, filepath.Join(md, "dovecot-keywords"), "0 $Forwarded\n")
	write(t, filepath.Join(md, ".Lists.golang", "cur", "1003.M4P1.vm,S=4,W=4:2,Sab"), "x\r\n\r\n")
	write(t, filepath.Join(md, ".Lists.golang", "dovecot-uidlist"), "3 V1700000001 N40 Gdef\n31 :1003.M4P1.vm,S=4,W=4\n")
	write(t, filepath.Join(md, ".Lists.golang", "dovecot-keywords"), "0 $Label1\n1 Important\n")
	write(t, filepath.Join(md, "subscriptions"), "V\t2\n\nLists\tgolang\n")
	write(t, filepath.Join(home, "sieve", "main.sieve"), "require \"fileinto\";\nfileinto \"Lists/golang\";\n")
	if err := os.Symlink("sieve/main.sieve", filepath.Join(home, ".dovecot.sieve")); err != nil {
		t.Fatal(err)
	}
	return home
}

func TestImportUserKeepsUIDsAndIsIdempotent(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	state := t.TempDir()
	st, err := store.Open(ctx, filepath.Join(state, "postern.db"), store.Options{Argon2: store.Argon2Params{MemoryKiB: 64, Time: 1, Threads: 1}, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if _, err := st.AddDomain(ctx, "example.test"); err != nil {
		t.Fatal(err)
	}
	if _, err := st.ImportUser(ctx, "alice@example.test", "{PLAIN}pw", store.UserOptions{}); err != nil {
		t.Fatal(err)
	}
	home := dovecotHome(t)
	src := UserSource{Address: "alice@example.test", Maildir: filepath.Join(home, "Maildir"), SieveDir: filepath.Join(home, "sieve"), ActiveSieve: filepath.Join(home, ".dovecot.sieve")}
	im := NewImporter(st, Options{MailRoot: filepath.Join(state, "mail"), Owner: -1, Now: func() time.Time { return time.Unix(1800000000, 0) }})

	dry := NewImporter(st, Options{MailRoot: filepath.Join(state, "mail"), Owner: -1, DryRun: true})
	if rep, err := dry.ImportUser(ctx, src, nil); err != nil || len(rep.Errors) > 0 {
		t.Fatalf("dry run: %v %v", err, rep.Errors)
	}
	if _, err := os.Stat(filepath.Join(state, "mail")); !os.IsNotExist(err) {
		t.Fatal("the dry run wrote to the mail directory")
	}

	rep, err := im.ImportUser(ctx, src, nil)
	if err != nil || len(rep.Errors) > 0 {
		t.Fatalf("import: %v %v", err, rep.Errors)
	}
	inbox, err := st.GetMailbox(ctx, "alice@example.test", "INBOX")
	if err != nil {
		t.Fatal(err)
	}
	if inbox.UIDValidity != 1700000000 || inbox.UIDNext != 11 || inbox.Messages != 3 {
		t.Fatalf("INBOX: %+v", inbox)
	}
	msgs, _ := st.ListMessages(ctx, inbox.ID, 0)
	var got []string
	for _, m := range msgs {
		got = append(got, strings.Join(append([]string{strconv.Itoa(int(m.UID))}, m.Flags...), " "))
	}
	if strings.Join(got, ";") != `7 \Seen;9 \Flagged $Forwarded;10` {
		t.Fatalf("INBOX messages: %q", got)
	}
	lists, err := st.GetMailbox(ctx, "alice@example.test", "Lists/golang")
	if err != nil || lists.UIDValidity != 1700000001 || lists.UIDNext != 40 || !lists.Subscribed {
		t.Fatalf("Lists/golang: %+v %v", lists, err)
	}
	lm, _ := st.ListMessages(ctx, lists.ID, 0)
	if len(lm) != 1 || lm[0].UID != 31 || strings.Join(lm[0].Flags, " ") != `\Seen $Label1 Important` {
		t.Fatalf("Lists/golang messages: %+v", lm)
	}
	if fi, err := os.Stat(filepath.Join(state, "mail", "example.test", "alice", ".Lists.golang", "cur", "1003.M4P1.vm,S=4,W=4:2,Sab")); err != nil {
		t.Fatalf("message file not in place under its flags: %v", err)
	} else if src, _ := os.Stat(filepath.Join(home, "Maildir", ".Lists.golang", "cur", "1003.M4P1.vm,S=4,W=4:2,Sab")); !os.SameFile(fi, src) {
		t.Fatal("message was copied, not hard-linked")
	}
	_, active, ok, err := st.ActiveScript(ctx, "alice@example.test")
	if err != nil || !ok || !strings.Contains(active, "fileinto") {
		t.Fatalf("active script: %q %v %v", active, ok, err)
	}

	again, err := im.ImportUser(ctx, src, nil)
	if err != nil || len(again.Errors) > 0 {
		t.Fatalf("second import: %v %v", err, again.Errors)
	}
	for _, f := range again.Folders {
		if f.Added != 0 || f.Linked != 0 || f.Copied != 0 {
			t.Errorf("second import changed folder %s: %+v", f.Name, f)
		}
	}
	if len(again.Sieve) != 1 || !strings.HasPrefix(again.Sieve[0], "unchanged") {
		t.Errorf("second import touched the script: %q", again.Sieve)
	}

	// With Dovecot's config read, its attributes are taken over by a later run.
	withConf := NewImporter(st, Options{MailRoot: filepath.Join(state, "mail"), Owner: -1, ConfSpecialUse: map[string]string{"Lists/golang": `\Archive`}})
	if rep, err := withConf.ImportUser(ctx, src, nil); err != nil || len(rep.Errors) > 0 {
		t.Fatalf("import with the config: %v %v", err, rep.Errors)
	}
	if l, _ := st.GetMailbox(ctx, "alice@example.test", "Lists/golang"); l.SpecialUse != `\Archive` {
		t.Errorf("Lists/golang special use %q after an import with the config", l.SpecialUse)
	}
}

func TestImportInterruptedLeavesNothing(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(context.Background())
	state := t.TempDir()
	st, err := store.Open(context.Background(), filepath.Join(state, "postern.db"), store.Options{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	st.AddDomain(context.Background(), "example.test")
	st.ImportUser(context.Background(), "alice@example.test", "{PLAIN}pw", store.UserOptions{})
	home := dovecotHome(t)
	im := NewImporter(st, Options{MailRoot: filepath.Join(state, "mail"), Owner: -1})
	n := 0
	_, err = im.ImportUser(ctx, UserSource{Address: "alice@example.test", Maildir: filepath.Join(home, "Maildir")}, func(done, total int) {
		if n++; n == 2 {
			cancel() // in the middle of INBOX
		}
	})
	if err == nil {
		t.Fatal("interrupted import reported success")
	}
	if _, err := st.GetMailbox(context.Background(), "alice@example.test", "INBOX"); err == nil {
		t.Fatal("half-imported INBOX is indexed")
	}
	for _, sub := range []string{"tmp", "new", "cur"} {
		des, _ := os.ReadDir(filepath.Join(state, "mail", "example.test", "alice", sub))
		if len(des) != 0 {
			t.Fatalf("files left in %s after the interruption: %v", sub, des)
		}
	}
}
