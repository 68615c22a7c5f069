package sieve

import "fmt"

// ErrorClass classifies a compile error the way the outcome format does
// (docs/sieve-outcome.md): the class of Pigeonhole's first error.
type ErrorClass string

// The compile error classes.
const (
	ClassSyntax            ErrorClass = "syntax"
	ClassRequire           ErrorClass = "require"
	ClassUnknownCommand    ErrorClass = "unknown-command"
	ClassUnknownTest       ErrorClass = "unknown-test"
	ClassUnknownTag        ErrorClass = "unknown-tag"
	ClassUnknownComparator ErrorClass = "unknown-comparator"
	ClassArgument          ErrorClass = "argument"
	ClassInclude           ErrorClass = "include"
)

// CompileError is the error Compile returns for a script that must be
// rejected. Line and Col are 1-based and point into the script named Script
// (which is an included script's name when the error is in an include).
type CompileError struct {
	Class  ErrorClass
	Script string
	Line   int
	Col    int
	Msg    string
}

func (e *CompileError) Error() string {
	return fmt.Sprintf("%s:%d:%d: %s error: %s", e.Script, e.Line, e.Col, e.Class, e.Msg)
}

// RuntimeError is returned by Execute when the script fails while running.
// The caller must then keep the message in INBOX (no flags): Pigeonhole
// throws away every action of a failed run and falls back to the implicit keep.
type RuntimeError struct {
	Script string
	Line   int
	Msg    string
}

func (e *RuntimeError) Error() string {
	return fmt.Sprintf("%s:%d: runtime error: %s", e.Script, e.Line, e.Msg)
}

type pos struct{ line, col int }

func errAt(p pos, class ErrorClass, format string, args ...any) *CompileError {
	return &CompileError{Class: class, Line: p.line, Col: p.col, Msg: fmt.Sprintf(format, args...)}
}
