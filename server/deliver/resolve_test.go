package deliver

import (
	"context"
	"strings"
	"testing"
)

// TestResolve: Resolve says what Deliver would do, without delivering: a user's mailbox,
// an alias's targets (here and outside), relaying for another domain, and delivery's
// refusal for an unknown user.
func TestResolve(t *testing.T) {
	t.Parallel()
	a, st, mail := testAgent(t)
	ctx := context.Background()
	if err := st.AddAlias(ctx, "fwd@example.test", []string{"alice@example.test", "friend@example.org"}); err != nil {
		t.Fatal(err)
	}
	r, err := a.Resolve(ctx, "Alice@example.test")
	if err != nil || !r.Local || len(r.Targets) != 1 || r.Targets[0] != (ResolvedTarget{Address: "alice@example.test", Mailbox: true}) {
		t.Errorf("alice: %+v, %v", r, err)
	}
	r, err = a.Resolve(ctx, "fwd@example.test")
	if err != nil || len(r.Targets) != 2 || !r.Targets[0].Mailbox || r.Targets[1].Mailbox ||
		r.Targets[1].Address != "friend@example.org" || r.Targets[1].Via != "alias fwd@example.test" {
		t.Errorf("fwd: %+v, %v", r, err)
	}
	if r, err := a.Resolve(ctx, "someone@example.org"); err != nil || r.Local || r.Recipient != "someone@example.org" {
		t.Errorf("outside: %+v, %v", r, err)
	}
	if _, err := a.Resolve(ctx, "nobody@example.test"); err == nil || !strings.HasPrefix(err.Error(), "550 5.1.1") {
		t.Errorf("unknown user: %v, want 550 5.1.1", err)
	}
	if n := len(inboxFiles(t, mail, "alice")); n != 0 {
		t.Errorf("Resolve delivered %d messages", n)
	}
}
