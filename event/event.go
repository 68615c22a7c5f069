package event

import "time"

// Kind tells the event types apart.
type Kind int

const (
	KindReceived         Kind = iota // a message accepted after DATA/BDAT: Received
	KindRejected                     // an SMTP command refused: Rejected
	KindLogin                        // a login attempt, successful or not: Login
	KindDelivery                     // one recipient's delivery outcome: Delivery
	KindSpamLearn                    // a spam or ham learning request Rspamd answered (or not): SpamLearn
	KindIMAPSieveDropped             // an IMAP event whose scripts will not run: IMAPSieveDropped
	NumKinds                         // the number of kinds; not an event
)

// String names the kind, for tests and logs.
func (k Kind) String() string {
	switch k {
	case KindReceived:
		return "received"
	case KindRejected:
		return "rejected"
	case KindLogin:
		return "login"
	case KindDelivery:
		return "delivery"
	case KindSpamLearn:
		return "spam-learn"
	case KindIMAPSieveDropped:
		return "imapsieve-dropped"
	}
	return "unknown"
}

// Event is one of the types of this package.
type Event interface {
	Kind() Kind
}

// Received is a message an SMTP, submission or LMTP session accepted the text of.
type Received struct {
	Service   string // the listener: smtp, lmtp, submission, submissions
	Session   string // the session id of the mail log
	ID        string // the message id of the mail log
	From      string
	To        []string // the envelope recipients
	Size      int64
	MessageID string // the Message-ID header field, without <>
}

// Rejected is one SMTP command the server refused.
type Rejected struct {
	Service  string
	Session  string
	Stage    string // the command: connect, helo, mail, rcpt, data, auth...
	Code     int
	Enhanced string // RFC 3463 code, e.g. "5.7.1"
	Reason   string // the reply text
	HELO     string
	From     string   // the envelope sender, once given
	To       []string // the recipients the refusal concerns, if any
}

// Login is one login attempt.
type Login struct {
	Service  string // submission, submissions, imap, managesieve
	User     string // as given on failure, canonical on success
	OK       bool
	Mech     string // the SASL mechanism, where the protocol names one (SMTP AUTH)
	Reason   string // why it failed
	Code     int    // the SMTP reply of a failure (0 elsewhere)
	Enhanced string
}

// Stage says where a delivery happened.
type Stage string

const (
	StageLocal Stage = "local" // into a local Maildir
	StageRelay Stage = "relay" // to the smart host or the recipient's MX (the queue)
)

// Status is a delivery's outcome.
type Status string

const (
	Delivered Status = "delivered"
	Deferred  Status = "deferred" // failed temporarily: tried again (or, at SMTP time, by the sender)
	Bounced   Status = "bounced"  // failed for good
)

// Delivery is the outcome of one recipient's delivery.
type Delivery struct {
	Stage  Stage
	Status Status
	ID     string        // the message id (local) or queue id (relay)
	From   string        // the envelope sender
	Rcpt   string        // the envelope recipient
	Where  string        // local: user/mailbox list; relay: the host that answered
	Reason string        // local: why it failed, when it did; relay: the next hop's reply text
	Delay  time.Duration // from arrival (local: session start) to this outcome

	// Relay: the next hop's reply codes, the attempt's number and, when deferred, the
	// time of the next one (zero when the message expired).
	Code        int
	Enhanced    string
	Attempt     int
	NextAttempt time.Time

	// Local: where the message came in, its size, how long the delivery itself took,
	// and how it was placed: the resolution (alias, +detail, catch-all), the Sieve rules
	// that decided, the UIDs it got.
	Service, Session, Client string
	Size                     int64
	Took                     time.Duration
	Resolved, Sieve, UIDs    string
}

// SpamLearn is the result of one learning request (package spamlearn).
type SpamLearn struct {
	Class  string // spam or ham
	Result string // learned, already, refused, dropped, deferred
	User   string
	Delay  time.Duration // from the IMAP move that asked for it to Rspamd's answer
}

// IMAPSieveDropped is an IMAP event (package imapsieve) whose scripts will not run: the
// queue or the user's share of it was full, or the daemon stopped before its turn. The
// message itself is stored and untouched.
type IMAPSieveDropped struct {
	Reason  string // queue_full, user_share_full, shutdown
	User    string
	Mailbox string
	Cause   string // APPEND, COPY, FLAG
	UID     uint32
}

func (IMAPSieveDropped) Kind() Kind { return KindIMAPSieveDropped }
func (SpamLearn) Kind() Kind        { return KindSpamLearn }
func (Received) Kind() Kind         { return KindReceived }
func (Rejected) Kind() Kind         { return KindRejected }
func (Login) Kind() Kind            { return KindLogin }
func (Delivery) Kind() Kind         { return KindDelivery }
