package sieve

import (
	"fmt"
	"time"
)

// Action is one thing the delivery agent must do. The concrete types are
// Keep, FileInto, Redirect, Discard, Reject, Vacation and Notify.
type Action interface{ action() }

// Keep stores the message in INBOX (an explicit "keep").
type Keep struct {
	Flags []string // IMAP flags for the stored copy (RFC 5232)
	// Header, when not nil, is the header block (fields and the blank
	// line) editheader (RFC 5293) made before this action: store it in
	// place of the message's own header, followed by the original body.
	Header []byte
}

// FileInto stores the message in Mailbox (RFC 5228 section 4.1).
type FileInto struct {
	Mailbox string
	Flags   []string
	Create  bool // RFC 5490 :create: make the mailbox if it is missing
	Copy    bool // RFC 3894 :copy (informational: the implicit keep was not cancelled)
	// SpecialUse (RFC 8579 :specialuse): store into the mailbox that has
	// this attribute (e.g. \Junk) if one exists, else into Mailbox.
	SpecialUse string
	Header     []byte // as Keep.Header
}

// Redirect forwards the message (RFC 5228 section 4.2). Address is a bare
// addr-spec with the domain lower-cased.
type Redirect struct {
	Address string
	Copy    bool
	Header  []byte // as Keep.Header
}

// Discard drops the message silently (RFC 5228 section 4.4).
type Discard struct{}

// Reject refuses the message (RFC 5429). Extended is true for ereject
// (refuse in the SMTP/LMTP transaction rather than by a bounce).
type Reject struct {
	Reason   string
	Extended bool
}

// Vacation is an auto-reply that passed every RFC 5230 / RFC 3834 check
// and must be sent. The caller records (Handle, To) in its vacation log
// once the reply is queued, for Period.
type Vacation struct {
	To      string // the envelope sender the reply goes to
	From    string // the reply's From address
	Subject string
	Reason  string // text, or a MIME entity when MIME is set
	MIME    bool
	Handle  string
	Period  time.Duration
}

func (Keep) action()     {}
func (FileInto) action() {}
func (Redirect) action() {}
func (Discard) action()  {}
func (Reject) action()   {}
func (Vacation) action() {}

// Origin is where in the scripts an action was decided.
type Origin struct {
	Script string // the name of the script or included script
	Line   int    // the command's line, 1-based
}

// String is "script:line".
func (o Origin) String() string { return fmt.Sprintf("%s:%d", o.Script, o.Line) }

// Result is the outcome of one successful run.
type Result struct {
	// Actions in the order the script ran them, deduplicated as
	// Pigeonhole does (one store per mailbox, one redirect per address).
	Actions []Action
	// Origins says, for each of Actions, which command decided it: the
	// script (or included script) and line. Postern's trace tells it.
	Origins []Origin
	// ImplicitKeep says the message must also be stored in INBOX, with
	// ImplicitKeepFlags (the imap4flags variable at the end of the run).
	ImplicitKeep      bool
	ImplicitKeepFlags []string
	// ImplicitKeepHeader is the header block after every editheader
	// change, nil when the script changed nothing (see Keep.Header).
	ImplicitKeepHeader []byte
}
