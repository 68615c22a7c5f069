package smtp

import (
	"errors"
	"fmt"

	gosmtp "github.com/emersion/go-smtp"
)

// ReplyError is an SMTP reply that refuses something: the basic code (RFC 5321
// section 4.2), the enhanced status code (RFC 3463) and the text.
type ReplyError struct {
	Code     int
	Enhanced [3]int
	Message  string
}

// Error renders the reply as it is sent, e.g. "550 5.1.1 Recipient address rejected".
func (e *ReplyError) Error() string {
	return fmt.Sprintf("%d %d.%d.%d %s", e.Code, e.Enhanced[0], e.Enhanced[1], e.Enhanced[2], e.Message)
}

// Temporary reports whether the client should try again later (a 4yz reply).
func (e *ReplyError) Temporary() bool { return e.Code/100 == 4 }

// EnhancedString returns the enhanced code as "5.1.1".
func (e *ReplyError) EnhancedString() string {
	return fmt.Sprintf("%d.%d.%d", e.Enhanced[0], e.Enhanced[1], e.Enhanced[2])
}

// Reply builds a *ReplyError.
func Reply(code int, enhanced [3]int, format string, args ...any) *ReplyError {
	return &ReplyError{Code: code, Enhanced: enhanced, Message: fmt.Sprintf(format, args...)}
}

// asReply turns any error from a callback into a reply. An error that is not a
// *ReplyError is an internal fault: the client gets a temporary 451 4.3.0 (RFC 5321
// section 4.2.3, RFC 3463 X.3.0) and the details stay in our log.
func asReply(err error) *ReplyError {
	var re *ReplyError
	if errors.As(err, &re) {
		return re
	}
	return errInternal
}

// toLibrary converts a reply into the type go-smtp writes verbatim (it checks the
// concrete type, not errors.As).
func (e *ReplyError) toLibrary() *gosmtp.SMTPError {
	return &gosmtp.SMTPError{Code: e.Code, EnhancedCode: gosmtp.EnhancedCode(e.Enhanced), Message: e.Message}
}

// The replies this package makes itself. Texts follow Postfix where Postfix has one,
// so that existing log readers and people recognise them.
var (
	errInternal     = &ReplyError{451, [3]int{4, 3, 0}, "Error: local error in processing, try again later"}
	errNestedMail   = &ReplyError{503, [3]int{5, 5, 1}, "Error: nested MAIL command"}
	errTooManyRcpts = &ReplyError{452, [3]int{4, 5, 3}, "Error: too many recipients"}
	errMessageSize  = &ReplyError{552, [3]int{5, 3, 4}, "Error: message file too big"}
	errSizeParam    = &ReplyError{552, [3]int{5, 3, 4}, "Message size exceeds fixed limit"}
	errTooManyHops  = &ReplyError{554, [3]int{5, 4, 6}, "Error: too many hops (Received: header fields); possible mail loop"}
	errBareLineEnd  = &ReplyError{554, [3]int{5, 5, 2}, "Error: bare <CR> or <LF> received; lines must end with <CR><LF> (RFC 5321 section 2.3.8)"}
	errLineTooLong  = &ReplyError{554, [3]int{5, 6, 0}, "Error: text line too long; lines are limited to %d octets (RFC 5321 section 4.5.3.1.6)"}
	errTimeout      = &ReplyError{421, [3]int{4, 4, 2}, "Error: timeout exceeded"}
	errDataAborted  = &ReplyError{451, [3]int{4, 3, 0}, "Error: message transfer aborted"}
	// errLMTPStranger answers a client outside TrustedNetworks on LMTP over TCP: LMTP
	// runs no sender checks, it is only for the MTA we trust.
	errLMTPStranger = &ReplyError{554, [3]int{5, 7, 1}, "Error: LMTP service for trusted networks only"}
)

// lineTooLong fills in the configured limit.
// headerTooBig refuses a header block over the limits (Postfix's header_size_limit
// discards the excess instead; we refuse, so nothing is stored altered).
func headerTooBig(octets int64, fields int) *ReplyError {
	msg := fmt.Sprintf("Error: message header too big (limit %d octets", octets)
	if fields > 0 {
		msg += fmt.Sprintf(", %d fields", fields)
	}
	return &ReplyError{552, [3]int{5, 3, 4}, msg + ")"}
}

func lineTooLong(limit int) *ReplyError {
	return &ReplyError{errLineTooLong.Code, errLineTooLong.Enhanced, fmt.Sprintf(errLineTooLong.Message, limit)}
}
