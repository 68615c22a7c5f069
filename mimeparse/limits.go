package mimeparse

// Limits bound what Parse does with one message. Zero fields take the default.
type Limits struct {
	// MaxDepth bounds the nesting of multipart and message/rfc822 parts: the deepest
	// part is MaxDepth-1 levels below the message, as in Dovecot, whose documented
	// default (MESSAGE_PARSER_DEFAULT_MAX_NESTED_MIME_PARTS in
	// lib-mail/message-parser.h) is 100.
	MaxDepth int
	// MaxParts bounds the number of MIME parts of the whole message. Dovecot's
	// documented default (MESSAGE_PARSER_DEFAULT_MAX_TOTAL_MIME_PARTS) is 10000.
	MaxParts int
	// MaxHeaderBlock bounds the bytes of one part's header that are parsed as header
	// fields; the rest of an oversized header is skipped up to its blank line. Dovecot's
	// documented default (MESSAGE_HEADER_BLOCK_DEFAULT_MAX_SIZE in
	// lib-mail/message-header-parser.h) is 10 MiB.
	MaxHeaderBlock int64
	// MaxFieldName is the longest header field name accepted; Dovecot's
	// (MESSAGE_HEADER_NAME_MAX_LEN, after RFC 5322 2.1.1) is 1000.
	MaxFieldName int
	// MaxFieldBytes bounds the kept value of one header field (ours: 64 KiB; RFC 5322
	// lines are at most 998 octets, so only folded or hostile fields reach it).
	MaxFieldBytes int
	// MaxFields bounds the fields kept of one header (ours: 1000).
	MaxFields int
	// MaxKeptBytes bounds the header bytes kept over the whole message (ours: 8 MiB);
	// once spent, later parts keep no fields and report default types.
	MaxKeptBytes int64
}

// DefaultLimits returns the limits Postern parses every message with.
func DefaultLimits() Limits {
	return Limits{
		MaxDepth:       100,
		MaxParts:       10000,
		MaxHeaderBlock: 10 << 20,
		MaxFieldName:   1000,
		MaxFieldBytes:  64 << 10,
		MaxFields:      1000,
		MaxKeptBytes:   8 << 20,
	}
}

// orDefault fills zero fields from DefaultLimits.
func (l Limits) orDefault() Limits {
	d := DefaultLimits()
	if l.MaxDepth <= 0 {
		l.MaxDepth = d.MaxDepth
	}
	if l.MaxParts <= 0 {
		l.MaxParts = d.MaxParts
	}
	if l.MaxHeaderBlock <= 0 {
		l.MaxHeaderBlock = d.MaxHeaderBlock
	}
	if l.MaxFieldName <= 0 {
		l.MaxFieldName = d.MaxFieldName
	}
	if l.MaxFieldBytes <= 0 {
		l.MaxFieldBytes = d.MaxFieldBytes
	}
	if l.MaxFields <= 0 {
		l.MaxFields = d.MaxFields
	}
	if l.MaxKeptBytes <= 0 {
		l.MaxKeptBytes = d.MaxKeptBytes
	}
	return l
}
