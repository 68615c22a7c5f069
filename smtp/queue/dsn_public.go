package queue

import (
	"fmt"
	"time"
)

// DSN describes a delivery status notification made outside the queue: the local
// delivery agent bounces recipients it refused after it had already answered 250 (a
// Sieve reject among several recipients), with the same report the queue sends.
type DSN struct {
	Hostname string     // our name, as the reporting MTA
	ID       string     // the transaction id, for the report and its Message-ID
	Sender   string     // the original envelope sender, the DSN's recipient
	Arrival  time.Time  // when the original message arrived
	Now      time.Time  // when the report is made
	Rcpts    []RcptInfo // the failed recipients, Status StatusFailed
	Original []byte     // the original message (its header section is quoted)
}

// BuildDSN returns the RFC 3464 report (multipart/report with message/delivery-status
// and the original header section) for failed recipients.
func BuildDSN(d DSN) []byte {
	return buildDSN(dsnParams{
		Hostname:  d.Hostname,
		QueueID:   d.ID,
		Sender:    d.Sender,
		Kind:      BounceFailed,
		Arrival:   d.Arrival,
		Now:       d.Now,
		Rcpts:     d.Rcpts,
		Headers:   headerSection(d.Original),
		Boundary:  d.ID + ".failed/" + d.Hostname,
		MessageID: fmt.Sprintf("%s.failed@%s", d.ID, d.Hostname),
	})
}
