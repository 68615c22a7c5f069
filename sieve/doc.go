// Package sieve is Postern's own Sieve engine (RFC 5228) with the
// extensions Pigeonhole enables by default: fileinto, envelope,
// encoded-character, reject/ereject, imap4flags, variables, vacation and
// vacation-seconds, subaddress, relational, comparator-i;ascii-numeric,
// copy, body, regex, mailbox, include, date, index and duplicate; and
// those Pigeonhole has but enables by configuration: spamtest,
// spamtestplus and virustest (spamtest.go; the verdict read from
// X-Spam-Score or Rspamd's X-Spamd-Result unless ExecOptions says
// otherwise, like Pigeonhole's sieve_spamtest_* settings), editheader
// (editheader.go), enotify with mailto (notify.go), environment, ihave,
// special-use (misc.go), mime, foreverypart and extracttext (mime.go),
// and imapsieve when CompileOptions.IMAP is set. Pigeonhole (Dovecot's
// Sieve) is the reference where the RFCs leave room. A capability we do
// not have is refused with a hint saying what to do (hint.go).
//
// Changing the message: editheader edits a copy of the header; each
// store or redirect action carries the header as it was when the action
// ran (Keep.Header, FileInto.Header, Redirect.Header, Result.
// ImplicitKeepHeader; nil when unedited). Values are encoded and folded so
// that no value can start a new field, as are enotify's header values.
//
// Layout: lexer.go and parser.go turn the source into a syntax tree;
// compile.go validates it against the command and test tables
// (commands.go, tests.go and one file per extension) and builds an
// executable tree; interp.go runs it and collects actions (result.go);
// outcome.go prints the outcome format of docs/sieve-outcome.md.
//
// API: Compile(name, src, CompileOptions) returns a *Script or a
// *CompileError (Class, Line, Col, Msg). Includes are resolved at compile
// time through CompileOptions.Loader, as Pigeonhole does, so a missing
// include is a compile error. (*Script).Execute(ctx, Message, Envelope,
// ExecOptions) returns a *Result. A compiled Script is immutable and safe
// for concurrent use; there is no package-level mutable state. The Message
// is a RawMessage (in memory) or, at delivery, a StreamMessage (ReadMessage:
// the header block and, on demand, the body prefix the tests read - bounded
// whatever the message's size, read once and shared by every recipient's run).
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
// caller's context); MIME parts walked through mimeparse (mimetree.go:
// Dovecot's 100 levels and 10,000 parts, message/rfc822 descended into as
// Pigeonhole does, over the bounded body prefix), foreverypart nested at most
// maxForeverNest deep,
// at most 8 recipients per mailto: URI. :matches runs without backtracking (match.go) and
// :regex uses Go's linear-time regexp, so long headers cannot blow up.
package sieve
