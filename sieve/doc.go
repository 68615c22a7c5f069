// Package sieve is Postern's own Sieve engine (RFC 5228) with the
// extensions Pigeonhole enables by default: fileinto, envelope,
// encoded-character, reject/ereject, imap4flags, variables, vacation and
// vacation-seconds, subaddress, relational, comparator-i;ascii-numeric,
// copy, body, regex, mailbox, include, date, index and duplicate.
// Pigeonhole (Dovecot's Sieve) is the reference where the RFCs leave room.
//
// Layout: lexer.go and parser.go turn the source into a syntax tree;
// compile.go validates it against the command and test tables
// (commands.go, tests.go and one file per extension) and builds an
// executable tree; interp.go runs it and collects actions (result.go);
// outcome.go prints the outcome format of
// ../shared/sieve-outcome-format.md.
//
// API: Compile(name, src, CompileOptions) returns a *Script or a
// *CompileError (Class, Line, Col, Msg). Includes are resolved at compile
// time through CompileOptions.Loader, as Pigeonhole does, so a missing
// include is a compile error. (*Script).Execute(ctx, Message, Envelope,
// ExecOptions) returns a *Result. A compiled Script is immutable and safe
// for concurrent use; there is no package-level mutable state.
//
// Failure behaviour: when Execute returns an error (a *RuntimeError or a
// context error) the caller must store the message in INBOX without flags
// and log the error: a failing script never loses mail, and Pigeonhole
// discards every action of a failed run in the same way.
//
// Limits against hostile scripts: script size and block/test nesting at
// compile time; include depth and count; at run time the number of
// actions and redirects, a step counter over commands, tests and match
// operations, and a wall-clock budget (ExecOptions.Timeout plus the
// caller's context). :matches runs without backtracking (match.go) and
// :regex uses Go's linear-time regexp, so long headers cannot blow up.
package sieve
