package imap

import (
	"strings"
	"testing"
)

// TestSubscriptionsOutliveMailboxes: a subscription is a name (RFC 3501 6.3.6, RFC
// 5258): after DELETE, LIST (SUBSCRIBED) reports it \NonExistent and LSUB still lists
// it; a name that never existed may be subscribed; a plain LIST shows neither; CREATE
// does not subscribe, `postern mailbox create` (Server.CreateMailbox) does.
func TestSubscriptionsOutliveMailboxes(t *testing.T) {
	t.Parallel()
	e := newEnv(t, "alice@example.org")
	a := e.rawDial(t, "alice@example.org")
	defer a.close()
	for _, c := range []string{"CREATE P", "CREATE P/gone", "CREATE P/kept", "SUBSCRIBE P/gone", "SUBSCRIBE P/kept", "SUBSCRIBE Never/made", "DELETE P/gone"} {
		a.run(t, c)
	}
	out := a.run(t, `LIST (SUBSCRIBED) "" "P/*"`)
	mustHave(t, out, `* LIST (\NonExistent \HasNoChildren \Subscribed) "/" "P/gone"`, `* LIST (\HasNoChildren \Subscribed) "/" "P/kept"`)
	if strings.Contains(out, "Noselect") {
		t.Errorf("\\NonExistent implies \\Noselect, which is not sent as well: %s", out)
	}
	mustHave(t, a.run(t, `LSUB "" "*"`), `* LSUB (\HasNoChildren) "/" "P/gone"`, `"/" "Never/made"`, `"/" "P/kept"`)
	if out := a.run(t, `LIST "" "*"`); strings.Contains(out, "P/gone") || strings.Contains(out, "Never") {
		t.Errorf("plain LIST shows a subscription that is no mailbox:\n%s", out)
	}
	// RECURSIVEMATCH: a parent the patterns match but whose subscribed child they do not.
	mustHave(t, a.run(t, `LIST (SUBSCRIBED RECURSIVEMATCH) "" "%"`),
		`* LIST (\HasChildren) "/" "P" (CHILDINFO ("SUBSCRIBED"))`, `* LIST (\NonExistent \HasNoChildren) "/" "Never" (CHILDINFO ("SUBSCRIBED"))`)
	// Recreating the name finds it subscribed; a new CREATE subscribes nothing.
	a.run(t, "CREATE P/gone")
	a.run(t, "CREATE Fresh")
	out = a.run(t, `LIST "" "*" RETURN (SUBSCRIBED)`)
	mustHave(t, out, `* LIST (\HasNoChildren \Subscribed) "/" "P/gone"`, `* LIST (\HasNoChildren) "/" "Fresh"`)
	if err := e.srv.CreateMailbox(t.Context(), "alice@example.org", "Admin", ""); err != nil {
		t.Fatal(err)
	}
	mustHave(t, a.run(t, `LIST "" "Admin" RETURN (SUBSCRIBED)`), `* LIST (\HasNoChildren \Subscribed) "/" "Admin"`)
	// A rename carries the subscriptions below it along.
	a.run(t, "RENAME P Q")
	out = a.run(t, `LSUB "" "*"`)
	mustHave(t, out, `"/" "Q/gone"`, `"/" "Q/kept"`)
	if strings.Contains(out, `"/" "P/`) {
		t.Errorf("subscriptions left at the old name:\n%s", out)
	}
}
