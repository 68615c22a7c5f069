package imap

import (
	"context"
	"errors"
	"testing"
	"time"

	goimap "github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"

	"github.com/postern/postern/store"
)

func appendDated(t *testing.T, c *imapclient.Client, mailbox, msg string, date time.Time) {
	t.Helper()
	cmd := c.Append(mailbox, int64(len(msg)), &goimap.AppendOptions{Time: date})
	if _, err := cmd.Write([]byte(msg)); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := cmd.Wait(); err != nil {
		t.Fatal(err)
	}
}

// An owner's expunge of old mail in Trash is announced to a session that has Trash
// selected, and leaves the younger message alone.
func TestExpungeBeforeIsAnnounced(t *testing.T) {
	t.Parallel()
	e := newEnv(t, "alice@example.org")
	ctx := context.Background()
	a := e.dial("alice@example.org", nil)
	now := time.Now()
	appendDated(t, a, "Trash", testMessage("old", "x"), now.Add(-40*24*time.Hour))
	appendDated(t, a, "Trash", testMessage("new", "y"), now.Add(-time.Hour))

	expunged := make(chan uint32, 4)
	b := e.dial("alice@example.org", &imapclient.UnilateralDataHandler{Expunge: func(seq uint32) { expunged <- seq }})
	e.selectBox(b, "Trash")

	n, err := e.srv.ExpungeBefore(ctx, "Alice@example.org", "Trash", now.Add(-30*24*time.Hour))
	if err != nil || n != 1 {
		t.Fatalf("ExpungeBefore = %d, %v; want 1", n, err)
	}
	if err := b.Noop().Wait(); err != nil {
		t.Fatal(err)
	}
	if got := recv(t, expunged); got != 1 {
		t.Errorf("b saw EXPUNGE %d, want 1", got)
	}
	mb, err := e.st.GetMailbox(ctx, "alice@example.org", "Trash")
	if err != nil || mb.Messages != 1 {
		t.Fatalf("Trash has %d messages (%v), want 1", mb.Messages, err)
	}
	if n, err := e.srv.ExpungeBefore(ctx, "alice@example.org", "Nope", now); !errors.Is(err, store.ErrNotFound) && err == nil {
		t.Errorf("unknown mailbox: %d, %v", n, err)
	}
}

func TestAdminCreateRenameDelete(t *testing.T) {
	t.Parallel()
	e := newEnv(t, "alice@example.org")
	ctx := context.Background()
	if err := e.srv.CreateMailbox(ctx, "alice@example.org", "Lists", ""); err != nil {
		t.Fatal(err)
	}
	if err := e.srv.CreateMailbox(ctx, "alice@example.org", "Lists", ""); !errors.Is(err, store.ErrExists) {
		t.Errorf("second create: %v, want ErrExists", err)
	}
	if err := e.srv.CreateMailbox(ctx, "nobody@example.org", "Lists", ""); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("create for unknown user: %v, want ErrNotFound", err)
	}
	if err := e.srv.CreateMailbox(ctx, "alice@example.org", "../x", ""); err == nil {
		t.Error("a name outside the Maildir was accepted")
	}
	if err := e.srv.RenameMailbox(ctx, "alice@example.org", "Lists", "Lists2"); err != nil {
		t.Fatal(err)
	}
	if err := e.srv.DeleteMailbox(ctx, "alice@example.org", "INBOX"); !errors.Is(err, store.ErrInvalid) {
		t.Errorf("delete INBOX: %v, want ErrInvalid", err)
	}
	if err := e.srv.DeleteMailbox(ctx, "alice@example.org", "Lists2"); err != nil {
		t.Fatal(err)
	}
	if _, err := e.st.GetMailbox(ctx, "alice@example.org", "Lists2"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("after delete: %v", err)
	}
}

func TestSessionsAndKick(t *testing.T) {
	t.Parallel()
	e := newEnv(t, "alice@example.org", "bob@example.org")
	a := e.dial("alice@example.org", nil)
	e.selectBox(a, "INBOX")
	e.dial("bob@example.org", nil)
	deadline := time.Now().Add(5 * time.Second)
	for {
		got := e.srv.Sessions()
		if len(got) == 2 && got[0].User == "alice@example.org" && got[0].Mailbox == "INBOX" && got[1].User == "bob@example.org" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("sessions = %+v", got)
		}
		time.Sleep(10 * time.Millisecond)
	}
	if n := e.srv.Kick("alice@example.org"); n != 1 {
		t.Fatalf("Kick = %d, want 1", n)
	}
	if err := a.Noop().Wait(); err == nil {
		t.Error("alice's session still answers after the kick")
	}
	for {
		got := e.srv.Sessions()
		if len(got) == 1 && got[0].User == "bob@example.org" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after kick: sessions = %+v", got)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
