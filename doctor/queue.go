package doctor

import (
	"context"
	"fmt"
	"time"

	"github.com/postern/postern/smtp/queue"
)

// QueueCheck reports queued mail older than delayWarning (the age at which senders are
// told their mail is late): the relay or the recipients' servers refuse it.
func QueueCheck(list func() []queue.Info, delayWarning time.Duration, now func() time.Time) Check {
	return Check{Name: "queue", Run: func(context.Context) []Finding {
		items := list()
		if delayWarning <= 0 {
			delayWarning = 4 * time.Hour
		}
		var old []queue.Info
		for _, in := range items {
			if now().Sub(in.Arrival) > delayWarning {
				old = append(old, in)
			}
		}
		if len(old) == 0 {
			return ok(fmt.Sprintf("%d queued messages, none waiting longer than %s.", len(items), delayWarning))
		}
		first := old[0]
		why := ""
		for _, r := range first.Rcpts {
			if r.LastError != "" {
				why = " The last error: " + r.LastError
				break
			}
		}
		return []Finding{{Severity: Problem,
			Message: fmt.Sprintf("%d queued messages have waited longer than %s (the oldest, %s, since %s).%s", len(old), delayWarning, first.ID, first.Arrival.Format(time.DateTime), why),
			Fix:     "See why with postern queue show " + first.ID + " (and postern relay test); once fixed, postern queue flush."}}
	}}
}
