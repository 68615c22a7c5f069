package managesieve

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// argKind tells the grammar's three argument forms apart (RFC 5804 section 4).
type argKind int

const (
	argAtom   argKind = iota // a bare word, e.g. ACTIVE; the command name is one too
	argString                // a quoted string or a literal
	argNumber                // HAVESPACE's size
)

type arg struct {
	kind argKind
	s    string // the atom or the string's content
	n    int64  // argNumber only
}

// command is one parsed line: the name (upper-cased by the caller) and its arguments.
type command struct {
	name string
	args []arg
}

// limits bound what one command may make the server hold in memory.
type limits struct {
	maxLine    int   // octets of one line outside literals, CRLF included
	maxLiteral int64 // octets of all literals of one command together
	maxArgs    int
}

// syntaxError is a malformed command: the session answers NO and goes on with the next
// line (readCommand has already skipped the rest of the bad one).
type syntaxError struct{ msg string }

func (e *syntaxError) Error() string { return e.msg }

// fatalError ends the session with BYE: the stream can no longer be parsed safely.
type fatalError struct{ msg string }

func (e *fatalError) Error() string { return e.msg }

// literalTooLarge is a literal over the limit. Its octets are still on the wire; the
// session may skip them (n of them) to stay in sync, or close the connection.
type literalTooLarge struct{ n int64 }

func (e *literalTooLarge) Error() string {
	return fmt.Sprintf("literal of %d octets is over the limit", e.n)
}

// maxQuoted is the longest quoted string RFC 5804 section 4 allows (1024 octets).
const maxQuoted = 1024

type parser struct {
	r       *bufio.Reader
	lim     limits
	line    int   // octets read outside literals
	literal int64 // octets read inside literals
}

// readCommand reads one command line with its literals. Errors: io.EOF (clean end
// between commands), *syntaxError (line skipped), *literalTooLarge, *fatalError, or
// the reader's error.
func readCommand(r *bufio.Reader, lim limits) (command, error) {
	args, err := readArgs(r, lim)
	if err != nil {
		return command{}, err
	}
	if len(args) == 0 {
		return command{}, &syntaxError{"empty command"}
	}
	if args[0].kind != argAtom {
		return command{}, &syntaxError{"a command must start with its name"}
	}
	return command{name: args[0].s, args: args[1:]}, nil
}

// readArgs reads one line of arguments (a command, or a SASL response), with the
// errors of readCommand.
func readArgs(r *bufio.Reader, lim limits) ([]arg, error) {
	p := &parser{r: r, lim: lim}
	args, err := p.line0()
	if err != nil {
		var se *syntaxError
		if errors.As(err, &se) {
			if serr := p.skipLine(); serr != nil {
				return nil, serr
			}
		}
		return nil, err
	}
	return args, nil
}

func (p *parser) byte() (byte, error) {
	b, err := p.r.ReadByte()
	if err != nil {
		if err == io.EOF && p.line > 0 {
			return 0, io.ErrUnexpectedEOF
		}
		return 0, err
	}
	p.line++
	if p.line > p.lim.maxLine {
		return 0, &fatalError{"line too long"}
	}
	return b, nil
}

func (p *parser) unread() {
	_ = p.r.UnreadByte()
	p.line--
}

// line0 reads the arguments up to the end of the line.
func (p *parser) line0() ([]arg, error) {
	var args []arg
	for {
		b, err := p.byte()
		if err != nil {
			return nil, err
		}
		switch {
		case b == ' ':
			continue
		case b == '\r':
			if b, err = p.byte(); err != nil {
				return nil, err
			}
			if b != '\n' {
				p.unread()
				return nil, &syntaxError{"CR without LF"}
			}
			return args, nil
		case b == '\n': // a bare LF is accepted as the end of the line
			return args, nil
		}
		if len(args) == p.lim.maxArgs {
			return nil, &syntaxError{"too many arguments"}
		}
		var a arg
		switch {
		case b == '"':
			a, err = p.quoted()
		case b == '{':
			a, err = p.literalArg()
		case b >= '0' && b <= '9':
			p.unread()
			a, err = p.number()
		default:
			p.unread()
			a, err = p.atom()
		}
		if err != nil {
			return nil, err
		}
		args = append(args, a)
		// An argument ends at a space or the end of the line.
		if b, err = p.byte(); err != nil {
			return nil, err
		}
		if b != ' ' && b != '\r' && b != '\n' {
			p.unread()
			return nil, &syntaxError{"expected a space between arguments"}
		}
		p.unread()
	}
}

func isAtomChar(b byte) bool {
	// Anything printable that cannot start or end another token.
	return b > ' ' && b < 0x7f && b != '"' && b != '{' && b != '}' && b != '(' && b != ')' && b != '\\'
}

func (p *parser) atom() (arg, error) {
	var buf []byte
	for {
		b, err := p.byte()
		if err != nil {
			return arg{}, err
		}
		if !isAtomChar(b) {
			p.unread()
			break
		}
		buf = append(buf, b)
	}
	if len(buf) == 0 {
		return arg{}, &syntaxError{"unexpected character"}
	}
	return arg{kind: argAtom, s: string(buf)}, nil
}

// digits reads a run of ASCII digits (possibly empty), leaving the next byte unread.
func (p *parser) digits() ([]byte, error) {
	var buf []byte
	for {
		b, err := p.byte()
		if err != nil {
			return nil, err
		}
		if b < '0' || b > '9' {
			p.unread()
			return buf, nil
		}
		buf = append(buf, b)
	}
}

func (p *parser) number() (arg, error) {
	buf, err := p.digits()
	if err != nil {
		return arg{}, err
	}
	// RFC 5804 section 4: number is 0..4294967295.
	n, err := strconv.ParseUint(string(buf), 10, 32)
	if err != nil {
		return arg{}, &syntaxError{"number out of range"}
	}
	return arg{kind: argNumber, n: int64(n)}, nil
}

// quoted reads the rest of a quoted string: \" and \\ are the only escapes, and CR, LF
// and NUL cannot appear (RFC 5804 section 4, QUOTED-CHAR).
func (p *parser) quoted() (arg, error) {
	var buf []byte
	for {
		b, err := p.byte()
		if err != nil {
			return arg{}, err
		}
		switch b {
		case '"':
			return arg{kind: argString, s: string(buf)}, nil
		case '\\':
			if b, err = p.byte(); err != nil {
				return arg{}, err
			}
			if b != '"' && b != '\\' {
				return arg{}, &syntaxError{"bad escape in quoted string"}
			}
		case '\r', '\n':
			p.unread()
			return arg{}, &syntaxError{"unterminated quoted string"}
		case 0:
			return arg{}, &syntaxError{"NUL in quoted string"}
		}
		if len(buf) == maxQuoted {
			return arg{}, &syntaxError{"quoted string longer than 1024 octets; send a literal"}
		}
		buf = append(buf, b)
	}
}

// literalArg reads {N+} or {N}, CRLF and N octets. Clients must send {N+}
// (literal-c2s); {N} is accepted too and, as there is no continuation request in
// ManageSieve, read at once the same way.
func (p *parser) literalArg() (arg, error) {
	digits, err := p.digits()
	if err != nil {
		return arg{}, err
	}
	b, err := p.byte()
	if err != nil {
		return arg{}, err
	}
	if b == '+' {
		if b, err = p.byte(); err != nil {
			return arg{}, err
		}
	}
	if b != '}' || len(digits) == 0 || len(digits) > 10 {
		return arg{}, &syntaxError{"malformed literal"}
	}
	if b, err = p.byte(); err == nil && b == '\r' {
		b, err = p.byte()
	}
	if err != nil {
		return arg{}, err
	}
	if b != '\n' {
		return arg{}, &syntaxError{"a literal's length must end the line"}
	}
	n, _ := strconv.ParseInt(string(digits), 10, 64)
	if n > p.lim.maxLiteral-p.literal {
		return arg{}, &literalTooLarge{n: n}
	}
	p.literal += n
	// The buffer grows with what arrives: an announced size costs nothing until the
	// octets are actually sent.
	var buf strings.Builder
	if _, err := io.CopyN(&buf, p.r, n); err != nil {
		if err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		return arg{}, err
	}
	return arg{kind: argString, s: buf.String()}, nil
}

// skipLine drops the rest of a bad line, still bounded by maxLine.
func (p *parser) skipLine() error {
	for {
		b, err := p.byte()
		if err != nil {
			return err
		}
		if b == '\n' {
			return nil
		}
	}
}
