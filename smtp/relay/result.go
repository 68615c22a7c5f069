package relay

import (
	"fmt"
	"strings"
)

// Envelope is the SMTP envelope of one message.
type Envelope struct {
	From  string   // MAIL FROM; "" is the null sender <>
	Rcpts []string // RCPT TO, one or more
}

// Result is the fate of one recipient.
type Result struct {
	Rcpt      string
	Code      int    // SMTP reply code; 0 if no reply was received
	Enhanced  string // RFC 3463 code, e.g. "5.1.1"; "" if none
	Text      string // reply text (lines joined by spaces) or error
	Temporary bool   // try again later; false for delivered and for 5yz
	RemoteMTA string // host name of the server that answered
}

// Delivered reports whether the server accepted the message for Rcpt.
func (r Result) Delivered() bool { return r.Code/100 == 2 }

// Stage names the step where a connection-level error happened.
type Stage string

const (
	StageResolve  Stage = "resolve"
	StageConnect  Stage = "connect"
	StageTLS      Stage = "tls"
	StageGreeting Stage = "greeting"
	StageEHLO     Stage = "ehlo"
	StageAuth     Stage = "auth"
	StageMail     Stage = "mail"
	StageRcpt     Stage = "rcpt"
	StageData     Stage = "data"
)

// Error is a failure that concerns the whole transaction, not one
// recipient. Errors before MAIL FROM (connect, TLS, greeting, AUTH) are all
// Temporary, even a 5yz to AUTH: they are problems of the relay or of our
// configuration, not of the message, and mail must wait for them to be
// fixed rather than bounce (Postfix's smtp_sasl_auth_soft_bounce does the
// same). Permanent connection-level errors are those of the destination:
// a domain that does not exist or has a null MX (RFC 7505), a 5yz to MAIL
// FROM or to DATA.
type Error struct {
	Stage     Stage
	Host      string
	Code      int
	Enhanced  string
	Text      string
	Temporary bool
	Err       error // the underlying network, TLS or DNS error, if any
}

func (e *Error) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "relay: %s", e.Stage)
	if e.Host != "" {
		fmt.Fprintf(&b, " %s", e.Host)
	}
	if e.Code != 0 {
		fmt.Fprintf(&b, ": %d", e.Code)
		if e.Enhanced != "" {
			fmt.Fprintf(&b, " %s", e.Enhanced)
		}
		fmt.Fprintf(&b, " %s", e.Text)
	} else if e.Text != "" {
		fmt.Fprintf(&b, ": %s", e.Text)
	}
	if e.Err != nil && e.Code == 0 && e.Text == "" {
		fmt.Fprintf(&b, ": %v", e.Err)
	}
	return b.String()
}

func (e *Error) Unwrap() error { return e.Err }

// results gives every recipient the error's outcome.
func (e *Error) results(rcpts []string) []Result {
	out := make([]Result, len(rcpts))
	text := e.Text
	if text == "" && e.Err != nil {
		text = e.Err.Error()
	}
	if e.Code == 0 {
		text = string(e.Stage) + ": " + text
	}
	for i, r := range rcpts {
		out[i] = Result{Rcpt: r, Code: e.Code, Enhanced: e.Enhanced, Text: text, Temporary: e.Temporary, RemoteMTA: e.Host}
	}
	return out
}
