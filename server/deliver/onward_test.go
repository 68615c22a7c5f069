package deliver

import (
	"context"
	"io"
	"strings"
	"sync"
	"testing"

	"github.com/postern/postern/server/config"
	"github.com/postern/postern/smtp"
	"github.com/postern/postern/smtp/queue"
	"github.com/postern/postern/store"
)

// queued is one message handed to the outbound queue.
type queued struct {
	from  string
	rcpts []string
	text  string
	uid   *uint32
}

// recordingQueue stands in for server/outbound: it keeps what it was given.
type recordingQueue struct {
	mu  sync.Mutex
	got []queued
}

func (q *recordingQueue) Enqueue(_ context.Context, env queue.Envelope, body io.Reader) (string, error) {
	b, err := io.ReadAll(body)
	if err != nil {
		return "", err
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	q.got = append(q.got, queued{from: env.From, rcpts: env.Rcpts, text: string(b), uid: env.UID})
	return "Q1", nil
}

func (q *recordingQueue) all() []queued {
	q.mu.Lock()
	defer q.mu.Unlock()
	return append([]queued(nil), q.got...)
}

// onwardAgent is testAgent with Sieve, a recording queue, and the aliases the tests
// forward through: fwd@ (outside only) and mixed@ (alice and outside).
func onwardAgent(t *testing.T) (*Agent, *store.Store, string, *recordingQueue) {
	t.Helper()
	a, st, mail := testAgent(t)
	ctx := context.Background()
	h, err := newSieveHook(config.Sieve{}, st, discardLog(), "+")
	if err != nil {
		t.Fatal(err)
	}
	q := &recordingQueue{}
	a.hook, a.out, a.hostname = h, q, "mail.example.test"
	if err := st.AddAlias(ctx, "fwd@example.test", []string{"friend@example.org"}); err != nil {
		t.Fatal(err)
	}
	if err := st.AddAlias(ctx, "mixed@example.test", []string{"alice@example.test", "friend@example.org"}); err != nil {
		t.Fatal(err)
	}
	return a, st, mail, q
}

func putActive(t *testing.T, st *store.Store, user, src string) {
	t.Helper()
	ctx := context.Background()
	if err := st.PutScript(ctx, user, "s", src); err != nil {
		t.Fatal(err)
	}
	if err := st.SetActive(ctx, user, "s"); err != nil {
		t.Fatal(err)
	}
}

// TestHeldMessageNotSentOn: a message that failed DMARC, or carries a spam verdict, is
// not forwarded through an alias nor redirected by Sieve; a recipient with a mailbox
// here still gets it (the redirect's copy in Junk), one without is refused 550 5.7.1.
func TestHeldMessageNotSentOn(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, failed, header, quarantine string
	}{
		{"dmarc fail", "DMARC fail for example.test", "", ""},
		{"spam verdict", "", "X-Spam: Yes\r\n", ""},
		{"quarantined", "", "", "DMARC policy of example.test is quarantine"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			a, st, mail, q := onwardAgent(t)
			putActive(t, st, "bob@example.test", `redirect "out@example.org";`)
			ctx := context.Background()
			msg := smtp.BytesMessage(tc.header + "From: CEO <ceo@example.test>\r\nTo: fwd@example.test\r\nSubject: wire money\r\n\r\nnow\r\n")
			env := testEnvelope("fwd@example.test", "mixed@example.test", "bob@example.test")
			env.Auth = smtp.SenderAuth{Checked: true, Failed: tc.failed}
			env.Quarantine = tc.quarantine
			errs := a.Deliver(ctx, env, msg)
			if errs[0] == nil || !strings.HasPrefix(errs[0].Error(), "550 5.7.1") || !strings.Contains(errs[0].Error(), "not forwarded") {
				t.Errorf("fwd@ (forwards only): %v, want 550 5.7.1 not forwarded", errs[0])
			}
			if errs[1] != nil || errs[2] != nil {
				t.Errorf("mixed@, bob@: %v, %v; want delivered here", errs[1], errs[2])
			}
			if got := q.all(); len(got) != 0 {
				t.Fatalf("a held message went to the queue: %+v", got)
			}
			if n := len(inboxFiles(t, mail, "alice")) + len(inboxFiles(t, mail, "alice/.Junk")); n != 1 {
				t.Errorf("alice (through mixed@) has %d messages, want 1", n)
			}
			if n := len(inboxFiles(t, mail, "bob/.Junk")); n != 1 {
				t.Errorf("bob's held redirect: %d messages in Junk, want 1", n)
			}
		})
	}
}

// TestForwardedWhenClean is the control: the same deliveries, nothing failed, leave.
func TestForwardedWhenClean(t *testing.T) {
	t.Parallel()
	a, st, _, q := onwardAgent(t)
	putActive(t, st, "bob@example.test", `redirect "out@example.org";`)
	env := testEnvelope("fwd@example.test", "bob@example.test")
	env.Auth = smtp.SenderAuth{Checked: true, SenderVerified: true}
	errs := a.Deliver(context.Background(), env, smtp.BytesMessage("From: x@example.org\r\nSubject: hi\r\n\r\nhi\r\n"))
	if errs[0] != nil || errs[1] != nil {
		t.Fatalf("errs = %v", errs)
	}
	var to []string
	for _, m := range q.all() {
		to = append(to, m.rcpts...)
	}
	if strings.Join(to, ",") != "friend@example.org,out@example.org" {
		t.Fatalf("queued for %v, want the alias target and the redirect", to)
	}
}

// TestQueuedCopyKeepsSubmitter: a local submission's copy to an address the submitter
// named carries their uid into the queue (mailq shows it to them); the copy to an alias's
// outside target does not (its owner chose it), nor does a copy from elsewhere.
func TestQueuedCopyKeepsSubmitter(t *testing.T) {
	t.Parallel()
	a, _, _, q := onwardAgent(t)
	uid := uint32(65534)
	env := testEnvelope("out@example.org", "fwd@example.test")
	env.Session.Role, env.Session.Trusted, env.LocalUID = smtp.RoleSubmission, true, &uid
	if errs := a.Deliver(context.Background(), env, smtp.BytesMessage("Subject: hi\r\n\r\nhi\r\n")); errs[0] != nil || errs[1] != nil {
		t.Fatalf("errs = %v", errs)
	}
	got := map[string]*uint32{}
	for _, m := range q.all() {
		for _, r := range m.rcpts {
			got[r] = m.uid
		}
	}
	if u := got["out@example.org"]; u == nil || *u != uid {
		t.Errorf("the named recipient's queue entry has uid %v, want %d", u, uid)
	}
	if u, ok := got["friend@example.org"]; !ok || u != nil {
		t.Errorf("the alias target's queue entry: queued %v with uid %v, want queued without one", ok, u)
	}
}

// TestVacationOnlyToVerifiedSenders: no reply to a sender SPF did not confirm, one to
// a sender it did, and the agent's DSN follows the same rule.
func TestVacationOnlyToVerifiedSenders(t *testing.T) {
	t.Parallel()
	a, st, _, q := onwardAgent(t)
	putActive(t, st, "carol@example.test", `require "vacation"; vacation :subject "Away" "Back on Monday.";`)
	send := func(from string, auth smtp.SenderAuth) {
		t.Helper()
		env := testEnvelope("carol@example.test")
		env.From, env.Auth = from, auth
		msg := "From: " + from + "\r\nTo: carol@example.test\r\nSubject: hello\r\n\r\nhi\r\n"
		if errs := a.Deliver(context.Background(), env, smtp.BytesMessage(msg)); errs[0] != nil {
			t.Fatal(errs[0])
		}
	}
	send("forged@example.org", smtp.SenderAuth{Checked: true})
	send("spf-failed@example.org", smtp.SenderAuth{Checked: true, Failed: "SPF fail for example.org"})
	if got := q.all(); len(got) != 0 {
		t.Fatalf("vacation replied to an unverified sender: %+v", got)
	}
	send("real@example.org", smtp.SenderAuth{Checked: true, SenderVerified: true})
	got := q.all()
	if len(got) != 1 || got[0].rcpts[0] != "real@example.org" || got[0].from != "" {
		t.Fatalf("want one reply to real@example.org from <>, got %+v", got)
	}
}

// TestAgentDSNOnlyToVerifiedSenders: a Sieve reject among several recipients owes the
// sender a DSN, unless the sender is not verified.
func TestAgentDSNOnlyToVerifiedSenders(t *testing.T) {
	t.Parallel()
	a, st, _, q := onwardAgent(t)
	putActive(t, st, "carol@example.test", `require "reject"; reject "no";`)
	for _, auth := range []smtp.SenderAuth{{Checked: true}, {Checked: true, SenderVerified: true}} {
		env := testEnvelope("alice@example.test", "carol@example.test")
		env.Auth = auth
		a.Deliver(context.Background(), env, smtp.BytesMessage("From: sender@example.org\r\nSubject: x\r\n\r\nx\r\n"))
	}
	got := q.all()
	if len(got) != 1 || !strings.Contains(got[0].text, "multipart/report") {
		t.Fatalf("want exactly one DSN (to the verified sender), got %d", len(got))
	}
}

// TestVacationFromRule: a :from built from variables that is another user's address is
// replaced by the owner's; the user's own +detail form and alias are kept; a :subject
// with CR LF from a variable stays one field.
func TestVacationFromRule(t *testing.T) {
	t.Parallel()
	a, st, _, q := onwardAgent(t)
	ctx := context.Background()
	if err := st.AddAlias(ctx, "sales@example.test", []string{"carol@example.test"}); err != nil {
		t.Fatal(err)
	}
	for i, tc := range []struct{ from, want string }{
		{"bob@example.test", "carol@example.test"},
		{"carol+away@example.test", "carol+away@example.test"},
		{"sales@example.test", "sales@example.test"},
		{"carol@example.test\r\nBcc: victim@example.org", "carol@example.test"},
	} {
		src := "require [\"vacation\", \"variables\"];\r\nset \"f\" \"" + tc.from + "\";\r\n" +
			"set \"s\" \"Away\r\nBcc: victim@example.org\";\r\nvacation :handle \"" + string(rune('a'+i)) + "\" :from \"${f}\" :subject \"${s}\" \"Back.\";\r\n"
		putActive(t, st, "carol@example.test", src)
		env := testEnvelope("carol@example.test")
		env.From = "dave@example.org"
		if errs := a.Deliver(ctx, env, smtp.BytesMessage("From: dave@example.org\r\nTo: carol@example.test\r\nSubject: hi\r\n\r\nhi\r\n")); errs[0] != nil {
			t.Fatal(errs[0])
		}
		got := q.all()
		if len(got) != i+1 {
			t.Fatalf("%q: %d replies queued, want %d", tc.from, len(got), i+1)
		}
		hdr, _, _ := strings.Cut(got[i].text, "\r\n\r\n")
		if !strings.Contains(hdr, "\r\nFrom: "+tc.want+"\r\n") {
			t.Errorf(":from %q: want From: %s in\n%s", tc.from, tc.want, hdr)
		}
		if !strings.Contains(hdr, "\r\nSubject: Away Bcc: victim@example.org\r\n") {
			t.Errorf("subject not kept on one line:\n%s", hdr)
		}
		for _, l := range strings.Split(hdr, "\r\n") {
			if strings.HasPrefix(strings.ToLower(l), "bcc:") {
				t.Errorf("injected field %q", l)
			}
		}
	}
}

// TestSieveCompilerVacationFrom: at upload, a constant :from must be the user's.
func TestSieveCompilerVacationFrom(t *testing.T) {
	t.Parallel()
	_, st, _ := testAgent(t)
	ctx := context.Background()
	if err := st.AddAlias(ctx, "sales@example.test", []string{"alice@example.test"}); err != nil {
		t.Fatal(err)
	}
	check := SieveCompiler(st, "", "+")
	for from, ok := range map[string]bool{
		"alice@example.test":         true,
		"alice+away@example.test":    true,
		"sales@example.test":         true,
		"Alice <alice@example.test>": true,
		"bob@example.test":           false,
		"team@example.test":          true, // an alias that delivers to her (MaySend's rule)
		"alice@example.org":          false,
		"nobody@example.test":        false,
	} {
		src := `require "vacation"; vacation :from "` + from + `" "away";`
		err := check(ctx, "alice@example.test", "s", []byte(src))
		if (err == nil) != ok {
			t.Errorf(":from %q: err = %v, want ok=%v", from, err, ok)
		}
		if err != nil && !strings.Contains(err.Error(), "not an address of alice@example.test") {
			t.Errorf(":from %q: unclear error %v", from, err)
		}
	}
	// Built from variables: left to delivery.
	if err := check(ctx, "alice@example.test", "s", []byte(`require ["vacation","variables"]; set "f" "bob@example.test"; vacation :from "${f}" "away";`)); err != nil {
		t.Errorf("variable :from refused at upload: %v", err)
	}
}
