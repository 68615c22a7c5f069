package admin

import (
	"errors"
	"fmt"
)

// Error codes carried in a response's "error.code". They are part of the protocol: the
// CLI and scripts match on them, so they are never renamed.
const (
	CodeBadRequest         = "bad_request"         // malformed JSON or arguments
	CodeUnknownCommand     = "unknown_command"     // cmd not in the table
	CodeUnsupportedVersion = "unsupported_version" // "v" is not ProtocolVersion
	CodeTooLarge           = "request_too_large"   // request line over MaxRequestSize
	CodePermissionDenied   = "permission_denied"   // peer not allowed to administer
	CodeNotFound           = "not_found"
	CodeExists             = "exists"
	CodeInUse              = "in_use"
	CodeInvalid            = "invalid"
	CodeInternal           = "internal"
	CodeNotRunning         = "not_running" // client side only: no daemon behind the socket
)

// CodedError is what a Backend error implements to choose its protocol error code (and,
// optionally, a hint). Errors that do not implement it are reported as CodeInternal.
type CodedError interface {
	error
	AdminCode() string
}

// Hinted is implemented by errors that carry a one-line suggestion for the operator.
type Hinted interface {
	AdminHint() string
}

// Error is a protocol error: what a Backend may return, and what Client methods return
// when the daemon answered ok=false.
type Error struct {
	Code    string `json:"code"`
	Message string `json:"message"`
	Hint    string `json:"hint,omitempty"`
	Err     error  `json:"-"` // the cause, for errors.Is on the server side; not sent
}

func (e *Error) Error() string     { return e.Message }
func (e *Error) AdminCode() string { return e.Code }
func (e *Error) AdminHint() string { return e.Hint }
func (e *Error) Unwrap() error     { return e.Err }

// NewError wraps err with a protocol code and a hint; the message is err's text.
func NewError(code, hint string, err error) *Error {
	return &Error{Code: code, Message: err.Error(), Hint: hint, Err: err}
}

// Errorf builds an Error with a formatted message and no cause.
func Errorf(code, hint, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...), Hint: hint}
}

// ErrorCode reports the protocol code of err ("" when err is nil, CodeInternal when err
// carries none).
func ErrorCode(err error) string {
	if err == nil {
		return ""
	}
	var ce CodedError
	if errors.As(err, &ce) {
		return ce.AdminCode()
	}
	return CodeInternal
}

// ErrorHint reports the hint carried by err, or "".
func ErrorHint(err error) string {
	var h Hinted
	if errors.As(err, &h) {
		return h.AdminHint()
	}
	return ""
}

// toWire turns any handler error into the response error object.
func toWire(err error) *Error {
	return &Error{Code: ErrorCode(err), Message: err.Error(), Hint: ErrorHint(err)}
}
