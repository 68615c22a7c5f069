package smtp

import (
	"slices"
	"testing"

	"github.com/postern/postern/event"
	"github.com/postern/postern/event/eventtest"
)

// TestEventsAndLogLinesAgree runs a submission session that fails a login, logs in, has a
// recipient refused and sends a message, and checks that every event emitted has its
// mail-log line with the attributes taken from the event (eventLine), and that each kind
// this package reports was seen.
func TestEventsAndLogLinesAgree(t *testing.T) {
	t.Parallel()
	rec := &eventtest.Recorder{}
	e := startSubmission(t, RoleSubmission, func(o *Options) { o.Events = rec })
	c := e.dial(t)
	c.greet("client.example.org")
	e.starttls(c)
	c.cmd("EHLO client.example.org", "250")
	c.cmd("AUTH PLAIN "+plainIR("alice@example.test", "wrong"), "535")
	c.cmd("AUTH PLAIN "+plainIR("alice@example.test", alicePassword), "235")
	c.cmd("MAIL FROM:<alice@example.test>", "250")
	c.cmd("RCPT TO:<x@blocked.example>", "554")
	c.cmd("RCPT TO:<bob@example.test>", "250")
	c.cmd("DATA", "354")
	c.send("Subject: hi\r\nMessage-ID: <m1@example.test>\r\n\r\nhello\r\n.\r\n")
	c.expect("250")
	e.logs.wait(t, isMsg("message"))

	kinds := map[event.Kind]bool{}
	for _, ev := range rec.All() {
		kinds[ev.Kind()] = true
		msg, attrs, ok := eventLine(ev, nil)
		if !ok {
			t.Fatalf("event %#v has no log line", ev)
		}
		want := map[string]string{}
		for _, a := range attrs {
			want[a.Key] = a.Value.String()
		}
		if !slices.ContainsFunc(e.logs.find(msg), func(r logRec) bool { return sameAttrs(r.attrs, want) }) {
			t.Errorf("event %#v: no %q line with %v; have %v", ev, msg, want, e.logs.find(msg))
		}
	}
	for _, k := range []event.Kind{event.KindLogin, event.KindRejected, event.KindReceived} {
		if !kinds[k] {
			t.Errorf("no %s event in %v", k, rec.All())
		}
	}
	if _, _, ok := eventLine(event.SpamLearn{}, nil); ok {
		t.Error("a kind smtp does not report has a line")
	}
}

// sameAttrs says whether got holds every attribute of want with its value.
func sameAttrs(got, want map[string]string) bool {
	for k, v := range want {
		if got[k] != v {
			return false
		}
	}
	return true
}
