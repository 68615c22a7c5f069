package alerts

import (
	"context"
	"errors"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

type mails struct {
	subjects []string
	fail     bool
}

func (m *mails) Mail(_ context.Context, subject, _ string) error {
	if m.fail {
		return errors.New("delivery failed")
	}
	m.subjects = append(m.subjects, subject)
	return nil
}

func TestOncePerDayAndFixed(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	now := time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)
	m := &mails{}
	path := filepath.Join(t.TempDir(), "alerts.json")
	a, err := New(Options{Mailer: m, StatePath: path, Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	refused := []Problem{{Key: "relay-auth", Summary: "the relay refuses our password", Detail: "535"}}
	for range 3 {
		if err := a.Observe(ctx, "relay", refused); err != nil {
			t.Fatal(err)
		}
		now = now.Add(time.Hour)
	}
	if len(m.subjects) != 1 {
		t.Fatalf("mails %q, want one", m.subjects)
	}
	// Another source reporting nothing does not close relay's problem.
	a.Observe(ctx, "disk", nil)
	// A restart keeps the state: no second mail.
	a, _ = New(Options{Mailer: m, StatePath: path, Now: func() time.Time { return now }})
	a.Observe(ctx, "relay", refused)
	if len(m.subjects) != 1 || !slices.Equal(a.Open(), []string{"relay-auth"}) {
		t.Fatalf("after restart: mails %q, open %q", m.subjects, a.Open())
	}
	now = now.Add(Repeat)
	a.Observe(ctx, "relay", refused)
	if len(m.subjects) != 2 || !strings.HasSuffix(m.subjects[1], "(still)") {
		t.Fatalf("a day later: %q", m.subjects)
	}
	a.Observe(ctx, "relay", nil)
	if len(m.subjects) != 3 || !strings.Contains(m.subjects[2], "fixed: the relay refuses our password") || len(a.Open()) != 0 {
		t.Fatalf("fixed: %q, open %q", m.subjects, a.Open())
	}
}

func TestFailedMailIsRetried(t *testing.T) {
	t.Parallel()
	m := &mails{fail: true}
	a, _ := New(Options{Mailer: m, StatePath: filepath.Join(t.TempDir(), "a.json")})
	p := []Problem{{Key: "disk", Summary: "disk nearly full"}}
	if err := a.Observe(context.Background(), "disk", p); err == nil {
		t.Error("a failed mail was not reported")
	}
	m.fail = false
	a.Observe(context.Background(), "disk", p)
	if len(m.subjects) != 1 {
		t.Errorf("mails %q, want the retried one", m.subjects)
	}
}

func TestMessageHasNoHeaderInjection(t *testing.T) {
	t.Parallel()
	msg := string(Message("mail.example.org", "postmaster@example.org", "bad\r\nBcc: x@evil.example", "line\nline", time.Now(), "1"))
	if strings.Contains(msg, "\r\nBcc:") || !strings.Contains(msg, "\r\n\r\nline\r\nline") {
		t.Errorf("message:\n%q", msg)
	}
}
