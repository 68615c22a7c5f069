// Package mimeparse reads the MIME structure of a message in one streaming pass with
// bounded memory, whatever the message's shape. It is what BODYSTRUCTURE, ENVELOPE, the
// IMAP summaries, SEARCH and Sieve's header, body and mime tests read a message through.
//
// Design: Parse reads the message line by line through a fixed-size buffer and never
// holds a body in memory. It builds a tree of Parts that records, for each MIME part,
// the byte offsets of its header and body in the message, the body's line count, and
// a bounded copy of the header fields the callers need: all fields of the top-level
// header, and for nested parts only the Content-* fields and those an ENVELOPE reads.
// Nested message/rfc822 parts are parsed in the same pass (their header starts where
// the enclosing part's body starts); multipart boundaries are recognised from the
// innermost open multipart outward, so an inner part that is never closed ends where
// an enclosing delimiter appears, as RFC 2046 section 5.1.2 says.
//
// Limits (Limits, DefaultLimits()): nesting depth and total MIME parts follow Dovecot's
// documented defaults; the bytes of header kept per field, per part and per message
// are ours and bound the tree's memory. A message beyond a limit is still parsed to
// its end: the part where a limit hit is reported as a leaf (Part.Flattened) whose body
// spans the rest of it, so the message stays readable and its structure is reported
// flattened rather than refused.
//
// Callers read a part's bytes through its offsets (Part.Body with an io.ReaderAt) and
// decode them with Decode (transfer encoding, then charset). Header.Envelope reads an
// ENVELOPE from a header, keeping RFC 5322 address groups (group start and end markers
// as RFC 3501 section 7.4.2 encodes them).
//
// The package has no mutable package state; a Part tree is immutable once Parse
// returns and safe for concurrent readers.
package mimeparse
