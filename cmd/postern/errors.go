package main

import (
	"errors"
	"fmt"
	"strings"

	"github.com/postern/postern/admin"
)

// usageError is a command line that cannot be run as typed: exit code 2 and the usage.
type usageError struct {
	cmd  *command // nil: no particular command
	path []string
	msg  string
}

func (e *usageError) Error() string { return e.msg }

// hintError is a failure with a suggestion for the next command to try. admin.ErrorHint
// finds the hint of this as of any error from the admin protocol.
type hintError struct {
	err  error
	hint string
}

func (e *hintError) Error() string     { return e.err.Error() }
func (e *hintError) Unwrap() error     { return e.err }
func (e *hintError) AdminHint() string { return e.hint }

func withHint(err error, hint string) error { return &hintError{err: err, hint: hint} }

// exitStatus is returned by commands that already printed their own diagnostics.
type exitStatus int

func (e exitStatus) Error() string { return fmt.Sprintf("exit status %d", int(e)) }

// report prints err the way every command does: "postern: MESSAGE", then "hint: ..."
// when there is one, and maps it to the exit code.
func (c *cli) report(err error) int {
	if err == nil {
		return exitOK
	}
	var status exitStatus
	if errors.As(err, &status) {
		return int(status)
	}
	var ue *usageError
	if errors.As(err, &ue) {
		fmt.Fprintf(c.stderr, "postern: %s\n", ue.msg)
		cmd, path := ue.cmd, ue.path
		if cmd == nil {
			cmd = c.root
		}
		fmt.Fprintf(c.stderr, "usage: %s\n", usageLine(cmd, path))
		fmt.Fprintf(c.stderr, "Run %q for help.\n", strings.Join(append([]string{"postern", "help"}, path...), " "))
		return exitUsage
	}
	prefix := ""
	var je *journalError
	if errors.As(err, &je) {
		prefix = journalErrPrefix
	}
	// Every line of a many-line error (config problems, one a line) carries the prefix.
	fmt.Fprintf(c.stderr, "%spostern: %s\n", prefix, strings.ReplaceAll(err.Error(), "\n", "\n"+prefix))
	if hint := admin.ErrorHint(err); hint != "" {
		fmt.Fprintf(c.stderr, "%shint: %s\n", prefix, hint)
	}
	return exitFor(err)
}

// journalError is the error that ended `postern serve` when its standard error is the
// journal's stream: report prints its lines at priority err (sd-daemon prefix <3>), as
// the daemon's own error lines are.
type journalError struct{ err error }

func (e *journalError) Error() string { return e.err.Error() }
func (e *journalError) Unwrap() error { return e.err }

const journalErrPrefix = "<3>"

// configErr marks an error as a config file that cannot be used (EX_CONFIG).
type configErr struct{ err error }

func (e *configErr) Error() string { return e.err.Error() }
func (e *configErr) Unwrap() error { return e.err }

// exitFor maps an error to its exit status: the admin protocol's code when it carries
// one, EX_CONFIG for a config problem, 1 otherwise.
func exitFor(err error) int {
	var ce *configErr
	if errors.As(err, &ce) {
		return exitConfig
	}
	var coded admin.CodedError
	if !errors.As(err, &coded) {
		return exitError
	}
	switch coded.AdminCode() {
	case admin.CodeNotRunning:
		return exitUnavailable
	case admin.CodeNotFound:
		return exitNotFound
	case admin.CodePermissionDenied:
		return exitNoPerm
	case admin.CodeExists, admin.CodeInUse, admin.CodeInvalid:
		return exitRefused
	case admin.CodeUnsupportedVersion, admin.CodeBadRequest, admin.CodeUnknownCommand, admin.CodeTooLarge:
		return exitProtocol
	case admin.CodeInternal:
		return exitInternal
	}
	return exitError
}
