package smtp

import (
	"context"
	"errors"
	"io"
	"strings"
	"testing"
)

// funcFilter adapts a function to Filter.
type funcFilter func(ctx context.Context, env *Envelope, msg Message) (Message, error)

func (f funcFilter) Filter(ctx context.Context, env *Envelope, msg Message) (Message, error) {
	return f(ctx, env, msg)
}

// stampFilter adds a header, drops "X-Drop" fields, and quarantines or
// refuses by the subject.
var stampFilter = funcFilter(func(_ context.Context, env *Envelope, msg Message) (Message, error) {
	rc, _ := msg.Open()
	b, _ := io.ReadAll(rc)
	rc.Close()
	switch {
	case strings.Contains(string(b), "Subject: reject"):
		return nil, Reply(550, [3]int{5, 7, 1}, "DMARC says no")
	case strings.Contains(string(b), "Subject: defer"):
		return nil, Reply(451, [3]int{4, 7, 0}, "DNS is down")
	case strings.Contains(string(b), "Subject: oops"):
		return nil, errors.New("internal")
	case strings.Contains(string(b), "Subject: quarantine"):
		env.Quarantine = "suspicious"
	}
	return EditHeader(msg, "X-Stamp: 1\r\n", func(name, _ string) bool { return strings.EqualFold(name, "X-Drop") }, 1<<20)
})

func sendOne(t *testing.T, c *rawClient, subject, want string) {
	t.Helper()
	c.cmd("MAIL FROM:<bob@example.org>", "250")
	c.cmd("RCPT TO:<alice@example.test>", "250")
	c.cmd("DATA", "354")
	c.send("From: bob@example.org\r\nX-Drop: a\r\n b\r\nSubject: " + subject + "\r\n\r\nbody\r\n.\r\n")
	c.expect(want)
}

func TestFiltersOnMX(t *testing.T) {
	t.Parallel()
	e := start(t, func(o *Options) { o.Filters = []Filter{stampFilter} })
	c := e.dial(t)
	c.greet("mail.example.org")
	sendOne(t, c, "reject", "550 5.7.1 DMARC says no")
	sendOne(t, c, "defer", "451 4.7.0 DNS is down")
	sendOne(t, c, "oops", "451 4.3.0")
	sendOne(t, c, "fine", "250 2.0.0")
	sendOne(t, c, "quarantine", "250 2.0.0")
	got := e.deliv.got()
	if len(got) != 2 {
		t.Fatalf("delivered %d messages, want 2", len(got))
	}
	want := "X-Stamp: 1\r\nFrom: bob@example.org\r\nSubject: fine\r\n\r\nbody\r\n"
	if got[0].body != want || got[0].env.Quarantine != "" {
		t.Errorf("delivered %q (quarantine %q), want %q", got[0].body, got[0].env.Quarantine, want)
	}
	if got[1].env.Quarantine != "suspicious" {
		t.Errorf("quarantine not passed on: %q", got[1].env.Quarantine)
	}
	r := e.logs.wait(t, func(r logRec) bool { return r.msg == "reject" && r.attrs[KeyCode] == "550" })
	if r.attrs[KeyStage] != "data" || !strings.Contains(r.attrs[KeyReason], "DMARC") {
		t.Errorf("reject line %v", r.attrs)
	}
}

func TestFiltersSkippedForTrusted(t *testing.T) {
	t.Parallel()
	e := start(t, func(o *Options) { trusted(o); o.Filters = []Filter{stampFilter} })
	c := e.dial(t)
	c.greet("mail.example.org")
	sendOne(t, c, "reject", "250 2.0.0")
	if got := e.deliv.got(); len(got) != 1 || strings.Contains(got[0].body, "X-Stamp") {
		t.Fatalf("trusted client was filtered: %+v", got)
	}
}

func TestEditHeader(t *testing.T) {
	t.Parallel()
	orig := BytesMessage("A: 1\r\nAuthentication-Results: us; spf=pass\r\n\tdkim=pass\r\nB: 2\r\nnot a field\r\n" +
		"authentication-results : them\r\nAuthentication-Results\t: us; none\r\nC: 3\r\n\r\nAuthentication-Results: body stays\r\n")
	m, err := EditHeader(orig, "New: x\r\n", func(name, value string) bool {
		return strings.EqualFold(name, "Authentication-Results") && strings.HasPrefix(value, "us")
	}, 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	want := "New: x\r\nA: 1\r\nB: 2\r\nnot a field\r\nauthentication-results : them\r\nC: 3\r\n\r\nAuthentication-Results: body stays\r\n"
	for range 2 { // opened twice, same text
		rc, _ := m.Open()
		b, _ := io.ReadAll(rc)
		rc.Close()
		if string(b) != want || m.Size() != int64(len(want)) {
			t.Fatalf("edited = %q (size %d), want %q", b, m.Size(), want)
		}
	}
	// A field cut short by the header limit is kept whole.
	m, _ = EditHeader(orig, "", func(string, string) bool { return true }, 10)
	rc, _ := m.Open()
	b, _ := io.ReadAll(rc)
	rc.Close()
	if !strings.HasPrefix(string(b), "A: 1\r\nAuthentication-Results: us") {
		t.Errorf("limit: %q", b)
	}
}

func FuzzEditHeader(f *testing.F) {
	f.Add("A: 1\r\nX: y\r\n z\r\n\r\nbody")
	f.Add("X: 1")
	f.Add("\r\nX: 1\r\n")
	f.Fuzz(func(t *testing.T, text string) {
		m, err := EditHeader(BytesMessage(text), "P: 1\r\n", func(name, _ string) bool { return name == "X" }, 4096)
		if err != nil {
			t.Fatal(err)
		}
		rc, _ := m.Open()
		b, _ := io.ReadAll(rc)
		rc.Close()
		if int64(len(b)) != m.Size() || !strings.HasPrefix(string(b), "P: 1\r\n") || len(b) > len(text)+6 {
			t.Fatalf("size %d, read %d: %q", m.Size(), len(b), b)
		}
	})
}

// TestStripForgedAuthResults: fields claiming our name go wherever they stand (first,
// after 2 MiB of header, adjacent, folded, behind a comment, with a trailing dot);
// another server's stay, and so does the body.
func TestStripForgedAuthResults(t *testing.T) {
	t.Parallel()
	filler := strings.Repeat("X-Filler: "+strings.Repeat("f", 90)+"\r\n", (2<<20)/102)
	orig := "Authentication-Results: mx.ours.example; dmarc=pass\r\n" + filler +
		"Authentication-Results: MX.OURS.EXAMPLE.; spf=pass\r\nauthentication-results :\r\n (x) mx.ours.example;\r\n dkim=pass\r\n" +
		"Authentication-Results: other.example; spf=fail\r\nSubject: s\r\n\r\nAuthentication-Results: mx.ours.example; body\r\n"
	m, err := StripForgedAuthResults(BytesMessage(orig), "mx.ours.example")
	if err != nil {
		t.Fatal(err)
	}
	rc, _ := m.Open()
	b, _ := io.ReadAll(rc)
	rc.Close()
	want := filler + "Authentication-Results: other.example; spf=fail\r\nSubject: s\r\n\r\nAuthentication-Results: mx.ours.example; body\r\n"
	if string(b) != want || m.Size() != int64(len(want)) {
		t.Errorf("stripped header starts %.120q, ends %q (size %d, want %d)", b, b[max(0, len(b)-150):], m.Size(), len(want))
	}
	if cuts := m.(*editedMessage).cuts; len(cuts) != 2 {
		t.Errorf("%d cuts, want 2 (adjacent fields merged)", len(cuts))
	}
	clean := BytesMessage("Subject: s\r\n\r\nbody\r\n")
	if m, _ := StripForgedAuthResults(clean, "mx.ours.example"); func() bool { _, wrapped := m.(*editedMessage); return wrapped }() {
		t.Error("a message with nothing to strip was wrapped")
	}
}

func TestHeaderHasField(t *testing.T) {
	t.Parallel()
	for msg, want := range map[string]bool{
		"A: 1\r\nauthentication-results : x\r\n\r\n":      true,
		"A: 1\r\n\r\nAuthentication-Results: in the body": false,
		"Authentication-Results-X: 1\r\n\r\n":             false,
		"X: 1\r\n Authentication-Results: folded\r\n\r\n": false,
		"Authentication-Results:":                         true,
		"":                                                false,
	} {
		if got := headerHasField([]byte(msg), "Authentication-Results"); got != want {
			t.Errorf("%q: %v, want %v", msg, got, want)
		}
	}
}
