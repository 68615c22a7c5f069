package queue

import (
	"testing"
	"time"

	"github.com/postern/postern/event"
)

// TestDeliveryLineWords checks that the delivery line says the queue's words for the
// event's status (failed for a bounce) and names the next attempt only when deferred.
func TestDeliveryLineWords(t *testing.T) {
	t.Parallel()
	next := time.Date(2026, 12, 7, 16, 0, 0, 0, time.UTC)
	for _, c := range []struct {
		status event.Status
		want   string
		next   bool
	}{{event.Delivered, "delivered", false}, {event.Bounced, "failed", false}, {event.Deferred, "deferred", true}} {
		ev := event.Delivery{Stage: event.StageRelay, Status: c.status, ID: "Q1", Rcpt: "bob@example.org", NextAttempt: next}
		got := map[string]string{}
		for _, a := range deliveryLine(ev) {
			got[a.Key] = a.Value.String()
		}
		if got["status"] != c.want || got["id"] != "Q1" || got["to"] != "bob@example.org" {
			t.Errorf("%s: %v", c.status, got)
		}
		if _, ok := got["next_attempt"]; ok != c.next {
			t.Errorf("%s: next_attempt %v", c.status, got)
		}
	}
}
