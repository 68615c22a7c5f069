package deliver

import (
	"strings"
	"testing"
	"time"

	"github.com/postern/postern/sieve"
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
