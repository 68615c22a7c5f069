package store

import "errors"

// Errors callers test with errors.Is. They are wrapped with detail (which address, which
// version), so print the wrapped error and match on these.
var (
	ErrNotFound    = errors.New("not found")
	ErrExists      = errors.New("already exists")
	ErrInUse       = errors.New("in use") // e.g. removing a domain that still has users or aliases
	ErrAuthFailed  = errors.New("authentication failed")
	ErrInvalid     = errors.New("invalid argument")
	ErrLimit       = errors.New("limit reached") // e.g. MaxSubscriptions
	ErrNewerSchema = errors.New("database was written by a newer postern")
)
