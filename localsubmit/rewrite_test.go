package localsubmit

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/postern/postern/smtp"
)

// fakeNames is a server with the local domains example.test and example.org (first is
// example.org: alphabetical, as the store lists them).
type fakeNames struct {
	known   map[string]bool // resolved addresses
	owner   string
	primary string
	fail    string // an address whose lookup fails
	asked   []string
}

func (f *fakeNames) Resolve(_ context.Context, addr string) (Resolution, error) {
	f.asked = append(f.asked, addr)
	if addr == f.fail {
		return 0, errors.New("database is locked")
	}
	if f.known[strings.ToLower(addr)] {
		return Known, nil
	}
	if _, d := splitAddr(addr); d == "example.test" || d == "example.org" {
		return Unknown, nil
	}
	return Foreign, nil
}

func (f *fakeNames) PrimaryDomain(context.Context) (string, error) { return f.primary, nil }

func (f *fakeNames) Owner(context.Context) (string, string, error) {
	return f.owner, "set [alerts] to", nil
}

func newFakeNames() *fakeNames {
	return &fakeNames{primary: "example.org", owner: "admin@example.test", known: map[string]bool{
		"admin@example.test": true, "alice@example.org": true, "bob@example.test": true,
		"postmaster@example.test": true, "root@mail.example.test": false}}
}

func TestRewriteRules(t *testing.T) {
	t.Parallel()
	cases := []struct{ rcpt, want string }{
		// Resolves here: kept, whatever its domain.
		{"bob@example.test", "bob@example.test"},
		{"<alice@example.org>", "alice@example.org"},
		{"postmaster@example.test", "postmaster@example.test"},
		// A bare name: at the first local domain if someone has it, else the owner.
		{"alice", "alice@example.org"},
		{"ALICE", "ALICE@example.org"},
		{"root", "admin@example.test"},
		{"nut", "admin@example.test"},
		// The machine's own names, and localhost, are the same as a bare name.
		{"nut@mail.example.test", "admin@example.test"},
		{"nut@box", "admin@example.test"},
		{"root@box.lan", "admin@example.test"},
		{"alice@Box.Lan", "alice@example.org"},
		{"someone@localhost", "admin@example.test"},
		{"alice@localhost.localdomain", "alice@example.org"},
		{"root@[127.0.0.1]", "admin@example.test"},
		{"alice@[IPv6:::1]", "alice@example.org"},
		// The owner's names at a local domain that lacks them.
		{"root@example.test", "admin@example.test"},
		{"Abuse@example.org", "admin@example.test"},
		{"MAILER-DAEMON@example.org", "admin@example.test"},
		{"postmaster@example.org", "admin@example.test"},
		// Anything else is kept: relayed, or refused as unknown by delivery.
		{"friend@example.net", "friend@example.net"},
		{"root@example.net", "root@example.net"},
		{"nobody@example.test", "nobody@example.test"},
		{"nut@otherbox", "nut@otherbox"},
	}
	w := newRewriter(newFakeNames(), "mail.example.test", []string{"box", "box.lan."})
	for _, c := range cases {
		got, err := w.rewrite(context.Background(), c.rcpt)
		if err != nil || got != c.want {
			t.Errorf("rewrite(%q) = %q, %v; want %q", c.rcpt, got, err, c.want)
		}
	}
}

func TestRewriteWithoutOwnerDefers(t *testing.T) {
	t.Parallel()
	names := newFakeNames()
	names.owner = ""
	w := newRewriter(names, "mail.example.test", nil)
	for _, rcpt := range []string{"root", "nut@localhost", "abuse@example.org"} {
		_, err := w.rewrite(context.Background(), rcpt)
		var re *smtp.ReplyError
		if !errors.As(err, &re) || !re.Temporary() || !strings.Contains(re.Message, "set [alerts] to") {
			t.Errorf("%s without an owner: %v, want a 4xx saying what to configure", rcpt, err)
		}
	}
	// What needs no owner is unaffected.
	if got, err := w.rewrite(context.Background(), "alice"); err != nil || got != "alice@example.org" {
		t.Errorf("alice without an owner: %q, %v", got, err)
	}
	// No local domain at all: a bare name goes to the owner, here nobody.
	names.primary = ""
	if _, err := w.rewrite(context.Background(), "alice"); !isReply(err) || isPermanent(err) {
		t.Errorf("alice without a domain or owner: %v, want a 4xx", err)
	}
}

func TestRewriteLookupFailureDefers(t *testing.T) {
	t.Parallel()
	names := newFakeNames()
	names.fail = "nut@example.org"
	w := newRewriter(names, "mail.example.test", nil)
	_, err := w.rewrite(context.Background(), "nut")
	if !isReply(err) || isPermanent(err) || !strings.Contains(err.Error(), "database is locked") {
		t.Errorf("failed lookup: %v, want a 4xx with the cause", err)
	}
}

func TestRewriteRefusesBadAddresses(t *testing.T) {
	t.Parallel()
	names := newFakeNames()
	w := newRewriter(names, "mail.example.test", nil)
	for _, rcpt := range []string{"root\r\nBcc: victim@example.net", "a@b\nX-Injected: 1", "broken@", "@example.test", "tab\there@example.test"} {
		got, err := w.rewrite(context.Background(), rcpt)
		if err == nil || isReply(err) {
			t.Errorf("rewrite(%q) = %q, %v; want an address error", rcpt, got, err)
		}
	}
	if len(names.asked) != 0 {
		t.Errorf("bad addresses were looked up: %q", names.asked)
	}
}

func TestRewriteWithoutNamesOnlyQualifies(t *testing.T) {
	t.Parallel()
	w := newRewriter(nil, "mail.example.test", nil)
	if got, err := w.rewrite(context.Background(), "root"); err != nil || got != "root@mail.example.test" {
		t.Errorf("rewrite(root) = %q, %v", got, err)
	}
}

func TestTraceHeaderNamesOnlyASingleRecipient(t *testing.T) {
	t.Parallel()
	one := forRecipient(&Request{Rcpts: []string{"root"}}, "mail.example.test")
	if one != "root@mail.example.test" {
		t.Errorf("for %q", one)
	}
	for _, req := range []*Request{{Rcpts: []string{"root", "nut"}}, {Rcpts: []string{"root"}, ExtractRecipients: true},
		{Rcpts: []string{"root\r\nX-Evil: 1"}}, {}} {
		if got := forRecipient(req, "mail.example.test"); got != "" {
			t.Errorf("%+v: for %q, want none", req, got)
		}
	}
}

// FuzzRewrite: whatever a local user names as a recipient, the rewrite gives an error or
// an address that parses again to itself, with no line break to inject a header with.
func FuzzRewrite(f *testing.F) {
	for _, s := range []string{"root", "nut@box", "alice", "x@localhost", "\"a b\"@example.test", "root\r\nBcc: x@y.z", "@", "<>", "a@[127.0.0.1]"} {
		f.Add(s)
	}
	w := newRewriter(newFakeNames(), "mail.example.test", []string{"box"})
	f.Fuzz(func(t *testing.T, rcpt string) {
		got, err := w.rewrite(context.Background(), rcpt)
		if err != nil {
			return
		}
		if strings.ContainsAny(got, "\r\n") {
			t.Fatalf("rewrite(%q) = %q: a line break", rcpt, got)
		}
		if again, err := smtp.QualifyAddress(got, "mail.example.test"); err != nil || again != got {
			t.Fatalf("rewrite(%q) = %q, which qualifies to %q, %v", rcpt, got, again, err)
		}
	})
}

// TestRewriteOwnerIsNotRewrittenAgain: an owner that is itself a name of the machine
// (alerts.to = root@HOSTNAME, or nut@HOSTNAME) is taken as given, after a bounded number
// of lookups: the rewrite never loops root -> owner -> root.
func TestRewriteOwnerIsNotRewrittenAgain(t *testing.T) {
	t.Parallel()
	for _, owner := range []string{"root@mail.example.test", "nut@localhost"} {
		n := newFakeNames()
		n.owner = owner
		w := newRewriter(n, "mail.example.test", nil)
		got, err := w.rewrite(context.Background(), "root")
		if err != nil || got != owner {
			t.Errorf("owner %s: root -> %q, %v; want the owner as given", owner, got, err)
		}
		if len(n.asked) > 2 {
			t.Errorf("owner %s: %d lookups %v, want at most 2", owner, len(n.asked), n.asked)
		}
	}
}
