package deliver

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/postern/postern/sieve"
	"github.com/postern/postern/smtp"
)

// What a script sends on an IMAP event leaves through the queue like a delivery's
// redirect (Delivered-To added, the user as sender), and a message scored as spam is
// not sent on at all (the held-message rule of delivery).
func TestSendFromSieve(t *testing.T) {
	t.Parallel()
	a, _, _, q := onwardAgent(t)
	ctx := context.Background()
	const alice = "alice@example.test"
	msg := smtp.BytesMessage("From: x@example.org\r\nSubject: hi\r\n\r\nbody\r\n")
	n := sieve.Notify{Method: "mailto:pager@example.org", To: []string{"pager@example.org"}}
	if err := a.SendFromSieve(ctx, alice, msg, []string{"friend@example.org"}, []sieve.Notify{n}); err != nil {
		t.Fatal(err)
	}
	got := q.all()
	if len(got) != 2 || got[0].rcpts[0] != "friend@example.org" || !strings.Contains(got[0].text, "Delivered-To: "+alice) ||
		got[1].rcpts[0] != "pager@example.org" {
		t.Fatalf("queued %+v", got)
	}
	spam := smtp.BytesMessage("X-Spam: Yes\r\nFrom: x@example.org\r\nSubject: win\r\n\r\nbody\r\n")
	if err := a.SendFromSieve(ctx, alice, spam, []string{"friend@example.org"}, []sieve.Notify{n}); !errors.Is(err, ErrHeld) {
		t.Errorf("spam: %v, want ErrHeld", err)
	}
	if len(q.all()) != 2 {
		t.Errorf("a held message was sent on: %+v", q.all()[2:])
	}
	// A redirect back to the user (a loop) is refused, not sent.
	looped := smtp.BytesMessage("Delivered-To: " + alice + "\r\nSubject: again\r\n\r\nbody\r\n")
	if err := a.SendFromSieve(ctx, alice, looped, []string{"friend@example.org"}, nil); err == nil {
		t.Error("a looping redirect was sent")
	}
}
