package deliver

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/postern/postern/sieve"
	"github.com/postern/postern/smtp"
)

// TestComposeNotifyHeaders: a subject or sender with line breaks cannot add a header,
// and From is the user whatever :from said.
func TestComposeNotifyHeaders(t *testing.T) {
	t.Parallel()
	a := &Agent{hostname: "mail.example.test", now: func() time.Time { return time.Unix(0, 0) }}
	out := string(a.composeNotify("alice@example.test", sieve.Notify{From: "boss@bank.example", Importance: 1,
		To: []string{"bob@example.org"}}, "x@evil.example", "hi\r\nBcc: victim@example.org"))
	hdr, _, _ := strings.Cut(out, "\r\n\r\n")
	for _, l := range strings.Split(hdr, "\r\n") {
		if strings.HasPrefix(strings.ToLower(l), "bcc:") {
			t.Fatalf("injected header %q in\n%s", l, out)
		}
	}
	if !strings.Contains(hdr, "From: alice@example.test\r\n") || !strings.Contains(hdr, "Auto-Submitted: auto-notified") || !strings.Contains(hdr, "To: bob@example.org") {
		t.Errorf("header:\n%s", hdr)
	}
}

// Notifications are limited as vacation replies are: the same notification about the
// same sender once a day, none about a held message (scored as spam) or an auto-submitted
// one; a new subject or another sender is a new notification.
func TestNotifyLimits(t *testing.T) {
	t.Parallel()
	a, st, _, q := onwardAgent(t)
	ctx := context.Background()
	const alice = "alice@example.test"
	putActive(t, st, alice, `require ["enotify"]; notify "mailto:pager@example.org";`)
	deliver := func(from, text string) {
		t.Helper()
		env := testEnvelope(alice)
		env.From = from
		if errs := a.Deliver(ctx, env, smtp.BytesMessage(text)); errs[0] != nil {
			t.Fatal(errs[0])
		}
	}
	notes := func() int {
		n := 0
		for _, m := range q.all() {
			if len(m.rcpts) == 1 && m.rcpts[0] == "pager@example.org" {
				n++
			}
		}
		return n
	}
	for i, tc := range []struct {
		from, text string
		want       int // notifications so far
	}{
		{"boss@example.org", "Subject: report\r\n\r\nx\r\n", 1},
		{"boss@example.org", "Subject: report\r\n\r\nx\r\n", 1}, // the same again: suppressed
		{"boss@example.org", "Subject: report\r\n\r\nanother body\r\n", 1},
		{"boss@example.org", "Subject: lunch\r\n\r\nx\r\n", 2},   // a new subject
		{"other@example.org", "Subject: report\r\n\r\nx\r\n", 3}, // another sender
		{"", "Subject: bounce\r\n\r\nx\r\n", 4},
		{"", "Subject: bounce\r\n\r\nx\r\n", 4},
		{"spam@example.org", "X-Spam: Yes\r\nSubject: win\r\n\r\nx\r\n", 4},
		{"robot@example.org", "Auto-Submitted: auto-generated\r\nSubject: cron\r\n\r\nx\r\n", 4},
	} {
		deliver(tc.from, tc.text)
		if got := notes(); got != tc.want {
			t.Fatalf("after message %d (%s, %q): %d notifications, want %d", i+1, tc.from, tc.text, got, tc.want)
		}
	}
}

// A user's scripts send at most notify_max_per_hour notifications an hour, whatever the
// senders and subjects; the cap is per user, and frees up as the hour passes.
func TestNotifyHourlyCap(t *testing.T) {
	t.Parallel()
	a, st, _, q := onwardAgent(t)
	now := time.Now()
	a.now, a.notifyCap = func() time.Time { return now }, 3
	ctx := context.Background()
	const alice, bob = "alice@example.test", "bob@example.test"
	putActive(t, st, alice, `require ["enotify"]; notify "mailto:pager@example.org";`)
	putActive(t, st, bob, `require ["enotify"]; notify "mailto:pager@example.org";`)
	notes := func(sender string) int {
		n := 0
		for _, m := range q.all() {
			if len(m.rcpts) == 1 && m.rcpts[0] == "pager@example.org" && strings.Contains(m.text, "from "+sender) {
				n++
			}
		}
		return n
	}
	deliver := func(user string, i int) {
		t.Helper()
		env := testEnvelope(user)
		env.From = fmt.Sprintf("s%d@example.org", i)
		if errs := a.Deliver(ctx, env, smtp.BytesMessage(fmt.Sprintf("Subject: m%d\r\n\r\nx\r\n", i))); errs[0] != nil {
			t.Fatal(errs[0])
		}
	}
	for i := range 10 {
		deliver(alice, i)
	}
	sent := 0
	for i := range 10 {
		sent += notes(fmt.Sprintf("s%d@example.org", i))
	}
	if sent != 3 {
		t.Fatalf("alice's scripts sent %d notifications about 10 senders, want 3 (the cap)", sent)
	}
	deliver(bob, 100)
	if notes("s100@example.org") != 1 {
		t.Error("bob's notification was held by alice's cap")
	}
	now = now.Add(61 * time.Minute)
	deliver(alice, 50)
	if notes("s50@example.org") != 1 {
		t.Error("alice's cap did not free up after an hour")
	}
}
