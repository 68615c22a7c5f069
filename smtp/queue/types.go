package queue

import (
	"context"
	"github.com/postern/postern/event"
	"io"
	"os"
	"time"
)

// Envelope is what Enqueue stores besides the message text.
type Envelope struct {
	// From is the envelope sender (MAIL FROM); "" is the null sender
	// <>, which never receives a DSN (RFC 5321 section 4.5.5).
	From string `json:"from"`
	// Rcpts are the envelope recipients, at least one.
	Rcpts []string `json:"rcpts"`
	// Origin says where the message came from, for logs and Show: e.g.
	// "submission user=bob@example.com" or "sendmail uid=1000". Free text.
	Origin string `json:"origin,omitempty"`
	// UID is the local user (the kernel's uid of the sendmail caller, SO_PEERCRED)
	// who submitted the message, so that mailq can show each user their own
	// messages; nil for mail from anywhere else, and in entries written before
	// the field existed.
	UID *uint32 `json:"uid,omitempty"`
}

// Message is a queued message as handed to a Transport. Its body stays valid
// until Deliver returns.
type Message struct {
	ID      string
	From    string
	Rcpts   []string // every recipient of the message, delivered or not
	Arrival time.Time
	Size    int64 // octets of the message text
	Attempt int   // 1 for the first delivery attempt
	Origin  string

	file *os.File
	off  int64
}

// Body returns a reader over the message text (headers and body, CRLF line
// ends as submitted). Each call returns an independent reader positioned at
// the start, so a Transport may read the text several times (one SMTP
// transaction per MX domain, a retry on a stale pooled connection).
func (m *Message) Body() *io.SectionReader {
	return io.NewSectionReader(m.file, m.off, m.Size)
}

// Result is the outcome of one delivery attempt for one recipient.
type Result struct {
	Rcpt string
	// Delivered: the next hop accepted the message for Rcpt (a 2yz reply).
	Delivered bool
	// Temporary: not delivered, try again later (a 4yz reply, a network
	// error, a TLS or AUTH problem). Ignored when Delivered. A result that
	// is neither Delivered nor Temporary is a permanent failure and
	// bounces.
	Temporary bool
	Code      int    // SMTP reply code, 0 when there was no reply
	Enhanced  string // RFC 3463 code, e.g. "5.1.1"; "" if none
	Text      string // reply text or error, one line
	RemoteMTA string // the host that answered, e.g. "smtp.fastmail.com"
}

// Transport delivers one message to some of its recipients. It must return
// one Result per recipient in rcpts (a missing one is treated as a temporary
// failure). It is called concurrently, up to Options.MaxConcurrency times.
type Transport interface {
	Send(ctx context.Context, msg *Message, rcpts []string) []Result
}

// EventSink receives the queue's events (package event): Delivery, stage relay.
type EventSink interface {
	Emit(event.Event)
}

// BounceKind tells a failure report from a delay warning.
type BounceKind string

const (
	BounceFailed  BounceKind = "failed"  // some recipients failed for good
	BounceDelayed BounceKind = "delayed" // still trying (the optional warning)
)

// Bounce is a delivery status notification built by the queue (RFC 3464).
// The Bouncer sends Message with the null envelope sender <> to To.
type Bounce struct {
	QueueID string     // the queue id of the message it reports on
	Kind    BounceKind // failed or delayed
	To      string     // the original envelope sender
	Rcpts   []string   // the recipients it reports on
	Message []byte     // the complete DSN, RFC 5322 text with CRLF line ends
}

// Bouncer hands a DSN on (the delivery agent delivers it locally or enqueues it with
// From ""); it is given to Run, so that it may itself enqueue. A nil error means the DSN is safely stored: the queue then
// forgets the failed recipients. On error the queue tries again at the next
// attempt time.
type Bouncer interface {
	Bounce(ctx context.Context, b *Bounce) error
}

// RcptStatus is the state of one recipient of a queued message.
type RcptStatus string

const (
	StatusPending   RcptStatus = "pending"   // not tried yet
	StatusDeferred  RcptStatus = "deferred"  // tried, temporary failure
	StatusDelivered RcptStatus = "delivered" // accepted by the next hop
	StatusFailed    RcptStatus = "failed"    // permanent failure or expired
)

// RcptInfo describes one recipient in List and Show.
type RcptInfo struct {
	Addr      string     `json:"addr"`
	Status    RcptStatus `json:"status"`
	Code      int        `json:"code,omitempty"`
	Enhanced  string     `json:"enhanced,omitempty"`
	LastError string     `json:"last_error,omitempty"`
	RemoteMTA string     `json:"remote_mta,omitempty"`
}

// Info describes a queued message for List and Show (and `postern queue`).
type Info struct {
	ID          string     `json:"id"`
	Size        int64      `json:"size"`
	Arrival     time.Time  `json:"arrival"`
	From        string     `json:"from"`
	Origin      string     `json:"origin,omitempty"`
	UID         *uint32    `json:"uid,omitempty"` // Envelope.UID: the local submitter
	Rcpts       []RcptInfo `json:"rcpts"`
	Attempts    int        `json:"attempts"`
	LastAttempt time.Time  `json:"last_attempt,omitzero"`
	NextAttempt time.Time  `json:"next_attempt,omitzero"`
	Held        bool       `json:"held"`
	Active      bool       `json:"active"` // a delivery attempt is running
}
