package deliver

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"testing"

	"github.com/postern/postern/event"
	"github.com/postern/postern/event/eventtest"
	"github.com/postern/postern/smtp"
)

// noTime drops the time attribute, so that a rendered line can be compared.
func noTime(_ []string, a slog.Attr) slog.Attr {
	if a.Key == slog.TimeKey {
		return slog.Attr{}
	}
	return a
}

// TestDeliveryLinesFromEvents delivers to a user and to an unknown address and checks
// that each Delivery event emitted has its log line, rendered from the event itself.
func TestDeliveryLinesFromEvents(t *testing.T) {
	t.Parallel()
	a, _, _ := testAgent(t)
	var logs bytes.Buffer
	a.log = slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{ReplaceAttr: noTime}))
	rec := &eventtest.Recorder{}
	a.events = rec
	errs := a.Deliver(context.Background(), testEnvelope("alice@example.test", "nobody@example.test"),
		smtp.BytesMessage("Subject: hi\r\n\r\nhello\r\n"))
	if errs[0] != nil || errs[1] == nil {
		t.Fatalf("errs %v", errs)
	}
	statuses := map[event.Status]bool{}
	for _, e := range rec.All() {
		ev := e.(event.Delivery)
		statuses[ev.Status] = true
		var want bytes.Buffer
		l := slog.New(slog.NewTextHandler(&want, &slog.HandlerOptions{ReplaceAttr: noTime}))
		if ev.Status == event.Delivered {
			l.Info("delivered", deliveryLine(ev)...)
		} else {
			l.Warn("not delivered", deliveryLine(ev)...)
		}
		if !strings.Contains(logs.String(), want.String()) {
			t.Errorf("no line %q in\n%s", want.String(), logs.String())
		}
	}
	if !statuses[event.Delivered] || !statuses[event.Bounced] {
		t.Fatalf("events %v", rec.All())
	}
	if !strings.Contains(logs.String(), "to=alice@example.test size=") || !strings.Contains(logs.String(), "status=delivered mailbox=alice@example.test/INBOX") {
		t.Errorf("delivered line:\n%s", logs.String())
	}
}
