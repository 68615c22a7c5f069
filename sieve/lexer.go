package sieve

import (
	"strings"
)

// The lexer follows RFC 5228 section 8.1. It produces the whole token list
// up front: scripts are bounded by CompileOptions.MaxScriptSize.

type tokKind int

const (
	tEOF tokKind = iota
	tIdent
	tTag
	tNumber
	tString
	tLBracket
	tRBracket
	tLParen
	tRParen
	tLBrace
	tRBrace
	tComma
	tSemicolon
)

func (k tokKind) String() string {
	return [...]string{"end of script", "identifier", "tag", "number", "string", "'['", "']'", "'('", "')'", "'{'", "'}'", "','", "';'"}[k]
}

type token struct {
	kind tokKind
	pos  pos
	text string // identifier / tag name (lower-cased) or string value
	num  uint64
}

type lexer struct {
	src  string
	i    int
	line int
	col  int
}

func lex(src string) ([]token, *CompileError) {
	lx := &lexer{src: src, line: 1, col: 1}
	var toks []token
	for {
		t, err := lx.next()
		if err != nil {
			return nil, err
		}
		toks = append(toks, t)
		if t.kind == tEOF {
			return toks, nil
		}
	}
}

func (lx *lexer) advance(n int) {
	for k := 0; k < n && lx.i < len(lx.src); k++ {
		if lx.src[lx.i] == '\n' {
			lx.line++
			lx.col = 1
		} else {
			lx.col++
		}
		lx.i++
	}
}

func (lx *lexer) here() pos { return pos{lx.line, lx.col} }

func isAlpha(c byte) bool { return c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') }
func isDigit(c byte) bool { return c >= '0' && c <= '9' }

func (lx *lexer) skipSpace() *CompileError {
	for lx.i < len(lx.src) {
		c := lx.src[lx.i]
		switch {
		case c == ' ' || c == '\t' || c == '\r' || c == '\n':
			lx.advance(1)
		case c == '#':
			for lx.i < len(lx.src) && lx.src[lx.i] != '\n' {
				lx.advance(1)
			}
		case c == '/' && lx.i+1 < len(lx.src) && lx.src[lx.i+1] == '*':
			p := lx.here()
			end := strings.Index(lx.src[lx.i+2:], "*/")
			if end < 0 {
				return errAt(p, ClassSyntax, "unterminated comment")
			}
			lx.advance(end + 4)
		default:
			return nil
		}
	}
	return nil
}

func (lx *lexer) next() (token, *CompileError) {
	if err := lx.skipSpace(); err != nil {
		return token{}, err
	}
	p := lx.here()
	if lx.i >= len(lx.src) {
		return token{kind: tEOF, pos: p}, nil
	}
	c := lx.src[lx.i]
	single := map[byte]tokKind{'[': tLBracket, ']': tRBracket, '(': tLParen, ')': tRParen, '{': tLBrace, '}': tRBrace, ',': tComma, ';': tSemicolon}
	if k, ok := single[c]; ok {
		lx.advance(1)
		return token{kind: k, pos: p}, nil
	}
	switch {
	case c == '"':
		return lx.quoted(p)
	case c == ':':
		lx.advance(1)
		if lx.i >= len(lx.src) || !isAlpha(lx.src[lx.i]) {
			return token{}, errAt(p, ClassSyntax, "':' not followed by a tag name")
		}
		name := lx.word()
		return token{kind: tTag, pos: p, text: strings.ToLower(name)}, nil
	case isDigit(c):
		return lx.number(p)
	case isAlpha(c):
		name := lx.word()
		if strings.EqualFold(name, "text") && lx.i < len(lx.src) && lx.src[lx.i] == ':' {
			lx.advance(1)
			return lx.multiline(p)
		}
		return token{kind: tIdent, pos: p, text: strings.ToLower(name)}, nil
	}
	return token{}, errAt(p, ClassSyntax, "unexpected character %q", c)
}

func (lx *lexer) word() string {
	start := lx.i
	for lx.i < len(lx.src) && (isAlpha(lx.src[lx.i]) || isDigit(lx.src[lx.i])) {
		lx.advance(1)
	}
	return lx.src[start:lx.i]
}

func (lx *lexer) number(p pos) (token, *CompileError) {
	var n uint64
	for lx.i < len(lx.src) && isDigit(lx.src[lx.i]) {
		d := uint64(lx.src[lx.i] - '0')
		if n > (1<<63-1-d)/10 {
			return token{}, errAt(p, ClassSyntax, "number too large")
		}
		n = n*10 + d
		lx.advance(1)
	}
	if lx.i < len(lx.src) {
		shift := map[byte]uint{'k': 10, 'K': 10, 'm': 20, 'M': 20, 'g': 30, 'G': 30}
		if s, ok := shift[lx.src[lx.i]]; ok {
			if n > (1<<63-1)>>s {
				return token{}, errAt(p, ClassSyntax, "number too large")
			}
			n <<= s
			lx.advance(1)
		}
	}
	if lx.i < len(lx.src) && (isAlpha(lx.src[lx.i]) || isDigit(lx.src[lx.i])) {
		return token{}, errAt(p, ClassSyntax, "malformed number")
	}
	return token{kind: tNumber, pos: p, num: n}, nil
}

// quoted reads a quoted string (RFC 5228 section 2.4.2): "\\" and "\""
// are the only escapes; a backslash before any other character is dropped.
func (lx *lexer) quoted(p pos) (token, *CompileError) {
	lx.advance(1)
	var b strings.Builder
	for {
		if lx.i >= len(lx.src) {
			return token{}, errAt(p, ClassSyntax, "unterminated string")
		}
		c := lx.src[lx.i]
		switch c {
		case '"':
			lx.advance(1)
			return token{kind: tString, pos: p, text: normalizeNewlines(b.String())}, nil
		case '\\':
			if lx.i+1 >= len(lx.src) {
				return token{}, errAt(p, ClassSyntax, "unterminated string")
			}
			b.WriteByte(lx.src[lx.i+1])
			lx.advance(2)
		default:
			b.WriteByte(c)
			lx.advance(1)
		}
	}
}

// multiline reads a "text:" string (RFC 5228 section 2.4.2): the rest of the
// line may hold only white space and a hash comment; lines follow up to a
// line holding a single "."; a leading ".." loses one dot.
func (lx *lexer) multiline(p pos) (token, *CompileError) {
	for lx.i < len(lx.src) && (lx.src[lx.i] == ' ' || lx.src[lx.i] == '\t') {
		lx.advance(1)
	}
	if lx.i < len(lx.src) && lx.src[lx.i] == '#' {
		for lx.i < len(lx.src) && lx.src[lx.i] != '\n' {
			lx.advance(1)
		}
	}
	if lx.i < len(lx.src) && lx.src[lx.i] == '\r' {
		lx.advance(1)
	}
	if lx.i >= len(lx.src) || lx.src[lx.i] != '\n' {
		return token{}, errAt(p, ClassSyntax, "text: must be followed by a line break")
	}
	lx.advance(1)
	var b strings.Builder
	for {
		if lx.i >= len(lx.src) {
			return token{}, errAt(p, ClassSyntax, "unterminated text: string")
		}
		end := strings.IndexByte(lx.src[lx.i:], '\n')
		var line string
		if end < 0 {
			line = lx.src[lx.i:]
			end = len(line)
		} else {
			line = lx.src[lx.i : lx.i+end]
			end++
		}
		line = strings.TrimSuffix(line, "\r")
		if line == "." {
			lx.advance(end)
			return token{kind: tString, pos: p, text: b.String()}, nil
		}
		if end == len(lx.src)-lx.i && !strings.HasSuffix(lx.src, "\n") {
			return token{}, errAt(p, ClassSyntax, "unterminated text: string")
		}
		line = strings.TrimPrefix(line, ".")
		b.WriteString(line)
		b.WriteString("\r\n")
		lx.advance(end)
	}
}

// normalizeNewlines turns bare LF in quoted strings into CRLF as RFC 5228
// section 2.4.2 requires of line breaks inside strings.
func normalizeNewlines(s string) string {
	if !strings.Contains(s, "\n") {
		return s
	}
	s = strings.ReplaceAll(s, "\r\n", "\n")
	return strings.ReplaceAll(s, "\n", "\r\n")
}
