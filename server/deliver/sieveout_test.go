package deliver

import (
	"bytes"
	"context"
	"os"
	"strings"
	"testing"

	"github.com/postern/postern/server/config"
	"github.com/postern/postern/smtp"
)

// TestSieveRedirectAndVacation: a redirect to a local user delivers a copy there (and not
// twice around a loop); a vacation reply reaches the sender once per period, never for a
// list message.
func TestSieveRedirectAndVacation(t *testing.T) {
	t.Parallel()
	a, st, mail := testAgent(t)
	ctx := context.Background()
	h, err := newSieveHook(config.Sieve{}, st, discardLog(), "+")
	if err != nil {
		t.Fatal(err)
	}
	a.hook = h
	a.hostname = "mail.example.test"
	put := func(user, src string) {
		t.Helper()
		if err := st.PutScript(ctx, user, "s", src); err != nil {
			t.Fatal(err)
		}
		if err := st.SetActive(ctx, user, "s"); err != nil {
			t.Fatal(err)
		}
	}
	put("alice@example.test", `require ["copy"]; redirect :copy "bob@example.test";`)
	put("bob@example.test", `redirect "alice@example.test";`) // a loop back to alice
	put("carol@example.test", `require "vacation"; vacation :days 3 :subject "Away" "Back on Monday.";`)

	env := testEnvelope("alice@example.test")
	env.From = "dave@example.test"
	if errs := a.Deliver(ctx, env, smtp.BytesMessage("From: dave@example.test\r\nTo: alice@example.test\r\nSubject: hi\r\nMessage-ID: <1@x>\r\n\r\nhello\r\n")); errs[0] != nil {
		t.Fatal(errs[0])
	}
	// alice keeps her copy (:copy); bob's redirect back to alice is a loop: bob keeps it.
	if n := len(inboxFiles(t, mail, "alice")); n != 1 {
		t.Fatalf("alice has %d messages, want 1", n)
	}
	bob := inboxFiles(t, mail, "bob")
	if len(bob) != 1 {
		t.Fatalf("bob has %d messages, want 1", len(bob))
	}
	if data, _ := os.ReadFile(bob[0]); !bytes.Contains(data, []byte("Delivered-To: alice@example.test")) {
		t.Fatalf("the redirected copy lacks the loop marker:\n%s", data)
	}

	// Vacation: bob writes to carol twice; he gets one reply, threaded to his message.
	if err := st.SetActive(ctx, "bob@example.test", ""); err != nil {
		t.Fatal(err)
	}
	before := len(inboxFiles(t, mail, "bob"))
	for i := 0; i < 2; i++ {
		env := testEnvelope("carol@example.test")
		env.From = "bob@example.test"
		msg := "From: bob@example.test\r\nTo: carol@example.test\r\nSubject: lunch?\r\nMessage-ID: <v" + string(rune('0'+i)) + "@x>\r\n\r\nhi\r\n"
		if errs := a.Deliver(ctx, env, smtp.BytesMessage(msg)); errs[0] != nil {
			t.Fatal(errs[0])
		}
	}
	// A list message gets no reply.
	env = testEnvelope("carol@example.test")
	env.From = "bob@example.test"
	a.Deliver(ctx, env, smtp.BytesMessage("From: bob@example.test\r\nTo: carol@example.test\r\nList-Id: <l.example.test>\r\nSubject: digest\r\n\r\nx\r\n"))

	var replies []string
	for _, f := range inboxFiles(t, mail, "bob") {
		data, _ := os.ReadFile(f)
		if bytes.Contains(data, []byte("Auto-Submitted: auto-replied")) {
			replies = append(replies, string(data))
		}
	}
	if len(inboxFiles(t, mail, "bob"))-before != 1 || len(replies) != 1 {
		t.Fatalf("bob got %d auto-replies (%d new messages), want exactly 1", len(replies), len(inboxFiles(t, mail, "bob"))-before)
	}
	for _, want := range []string{"Subject: Away", "In-Reply-To: <v0@x>", "Return-Path: <>", "Back on Monday."} {
		if !strings.Contains(replies[0], want) {
			t.Errorf("reply lacks %q:\n%s", want, replies[0])
		}
	}
}

// TestSieveRejectAmongSeveral: one of two users rejects on port 25; the message is
// delivered to the other and the sender gets a DSN naming the rejecting user.
func TestSieveRejectAmongSeveral(t *testing.T) {
	t.Parallel()
	a, st, mail := testAgent(t)
	ctx := context.Background()
	h, err := newSieveHook(config.Sieve{}, st, discardLog(), "+")
	if err != nil {
		t.Fatal(err)
	}
	a.hook = h
	a.hostname = "mail.example.test"
	if err := st.PutScript(ctx, "carol@example.test", "s", `require "reject"; reject "not interested";`); err != nil {
		t.Fatal(err)
	}
	if err := st.SetActive(ctx, "carol@example.test", "s"); err != nil {
		t.Fatal(err)
	}
	env := testEnvelope("alice@example.test", "carol@example.test")
	env.From = "bob@example.test"
	errs := a.Deliver(ctx, env, smtp.BytesMessage("From: bob@example.test\r\nSubject: offer\r\n\r\nbuy\r\n"))
	if errs[0] != nil || errs[1] == nil || !strings.HasPrefix(errs[1].Error(), "550") {
		t.Fatalf("errs = %v", errs)
	}
	if n := len(inboxFiles(t, mail, "alice")); n != 1 {
		t.Fatalf("alice has %d", n)
	}
	bob := inboxFiles(t, mail, "bob")
	if len(bob) != 1 {
		t.Fatalf("bob (the sender) got %d messages, want one DSN", len(bob))
	}
	data, _ := os.ReadFile(bob[0])
	for _, want := range []string{"multipart/report", "carol@example.test", "not interested", "Return-Path: <>"} {
		if !bytes.Contains(data, []byte(want)) {
			t.Errorf("DSN lacks %q:\n%s", want, data)
		}
	}
}
