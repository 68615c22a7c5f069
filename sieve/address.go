package sieve

import (
	"strings"
)

// mailAddr is one address of an address header (RFC 5322 section 3.4).
// invalid is set when the header could not be parsed: then local holds the
// whole raw value, which only :all (and :localpart) can match.
type mailAddr struct {
	local   string
	domain  string
	invalid bool
}

func (a mailAddr) all() string {
	if a.domain == "" {
		return a.local
	}
	return a.local + "@" + a.domain
}

// parseAddressList parses an address-list leniently: display names,
// comments, quoted local parts, groups (whose members are listed, and an
// empty group yields nothing) and bare addr-specs.
func parseAddressList(v string) []mailAddr {
	p := &addrParser{s: v}
	var out []mailAddr
	for {
		p.skipCFWS()
		if p.eof() {
			return out
		}
		if p.peek() == ',' {
			p.i++
			continue
		}
		addrs, ok := p.mailboxOrGroup()
		if !ok {
			raw := strings.TrimSpace(v)
			if raw == "" {
				return nil
			}
			return []mailAddr{{local: raw, invalid: true}}
		}
		out = append(out, addrs...)
	}
}

type addrParser struct {
	s string
	i int
}

func (p *addrParser) eof() bool  { return p.i >= len(p.s) }
func (p *addrParser) peek() byte { return p.s[p.i] }

func (p *addrParser) skipCFWS() {
	for !p.eof() {
		c := p.peek()
		switch {
		case c == ' ' || c == '\t' || c == '\r' || c == '\n':
			p.i++
		case c == '(':
			p.skipComment()
		default:
			return
		}
	}
}

func isAtext(c byte) bool {
	if isAlpha(c) || isDigit(c) || c >= 0x80 {
		return true
	}
	return strings.IndexByte("!#$%&'*+-/=?^_`{|}~", c) >= 0
}

func (p *addrParser) skipComment() {
	depth := 0
	for !p.eof() {
		c := p.peek()
		p.i++
		switch c {
		case '\\':
			p.i++
		case '(':
			depth++
		case ')':
			depth--
			if depth == 0 {
				return
			}
		}
	}
}

// word reads an atom, dot-atom or quoted string; quoted strings are
// returned without quotes and escapes.
func (p *addrParser) word() (string, bool) {
	p.skipCFWS()
	if p.eof() {
		return "", false
	}
	if p.peek() == '"' {
		p.i++
		var b strings.Builder
		for !p.eof() {
			c := p.peek()
			p.i++
			switch c {
			case '\\':
				if !p.eof() {
					b.WriteByte(p.peek())
					p.i++
				}
			case '"':
				return b.String(), true
			default:
				b.WriteByte(c)
			}
		}
		return "", false
	}
	start := p.i
	for !p.eof() && (isAtext(p.peek()) || p.peek() == '.') {
		p.i++
	}
	if p.i == start {
		return "", false
	}
	return p.s[start:p.i], true
}

// mailboxOrGroup parses one mailbox or group.
func (p *addrParser) mailboxOrGroup() ([]mailAddr, bool) {
	start := p.i
	// Collect a phrase (or local part) of words.
	var words []string
	for {
		p.skipCFWS()
		if p.eof() {
			break
		}
		c := p.peek()
		if c == '<' || c == ':' || c == '@' || c == ',' || c == ';' {
			break
		}
		w, ok := p.word()
		if !ok {
			return nil, false
		}
		words = append(words, w)
	}
	if p.eof() || p.peek() == ',' {
		// Bare local part without a domain ("root").
		if len(words) != 1 {
			return nil, false
		}
		return []mailAddr{{local: words[0]}}, true
	}
	switch p.peek() {
	case '<':
		p.i++
		a, ok := p.angleAddr()
		return []mailAddr{a}, ok
	case '@':
		if len(words) != 1 {
			return nil, false
		}
		p.i++
		dom, ok := p.domain()
		if !ok {
			return nil, false
		}
		return []mailAddr{{local: words[0], domain: dom}}, true
	case ':':
		p.i++
		var out []mailAddr
		for {
			p.skipCFWS()
			if p.eof() {
				return out, true // tolerate a group without ';'
			}
			switch p.peek() {
			case ';':
				p.i++
				return out, true
			case ',':
				p.i++
				continue
			}
			as, ok := p.mailboxOrGroup()
			if !ok {
				return nil, false
			}
			out = append(out, as...)
		}
	}
	_ = start
	return nil, false
}

func (p *addrParser) angleAddr() (mailAddr, bool) {
	p.skipCFWS()
	// Obsolete source route: "@a,@b:" (RFC 5322 section 4.4).
	if !p.eof() && p.peek() == '@' {
		k := strings.IndexByte(p.s[p.i:], ':')
		if k < 0 {
			return mailAddr{}, false
		}
		p.i += k + 1
	}
	p.skipCFWS()
	if !p.eof() && p.peek() == '>' {
		p.i++
		return mailAddr{}, true // null address <>
	}
	local, ok := p.word()
	if !ok {
		return mailAddr{}, false
	}
	p.skipCFWS()
	a := mailAddr{local: local}
	if !p.eof() && p.peek() == '@' {
		p.i++
		a.domain, ok = p.domain()
		if !ok {
			return mailAddr{}, false
		}
	}
	p.skipCFWS()
	if p.eof() || p.peek() != '>' {
		return mailAddr{}, false
	}
	p.i++
	return a, true
}

func (p *addrParser) domain() (string, bool) {
	p.skipCFWS()
	if !p.eof() && p.peek() == '[' {
		k := strings.IndexByte(p.s[p.i:], ']')
		if k < 0 {
			return "", false
		}
		d := p.s[p.i : p.i+k+1]
		p.i += k + 1
		return d, true
	}
	start := p.i
	for !p.eof() && (isAtext(p.peek()) || p.peek() == '.') {
		p.i++
	}
	if p.i == start {
		return "", false
	}
	return p.s[start:p.i], true
}

// parsePath parses an envelope path (RFC 5321 section 4.1.2) given with or
// without angle brackets; "" and "<>" are the null path.
func parsePath(s string) (mailAddr, bool) {
	s = strings.TrimSpace(s)
	if s == "" || s == "<>" {
		return mailAddr{}, true
	}
	as := parseAddressList(s)
	if len(as) != 1 || as[0].invalid {
		return mailAddr{}, false
	}
	return as[0], true
}

// splitDetail splits a local part at the first delimiter for the
// subaddress extension (RFC 5233 section 4).
func splitDetail(local, delim string) (user, detail string, ok bool) {
	if delim == "" {
		return local, "", false
	}
	k := strings.Index(local, delim)
	if k < 0 {
		return local, "", false
	}
	return local[:k], local[k+len(delim):], true
}

// validRedirectAddress checks a redirect target: one addr-spec with a
// domain (RFC 5228 section 4.2), optionally in angle brackets or with a
// display name, as Pigeonhole accepts. It returns the normalised bare
// address with the domain lower-cased.
func validRedirectAddress(s string) (string, bool) {
	as := parseAddressList(s)
	if len(as) != 1 || as[0].invalid || as[0].local == "" || as[0].domain == "" {
		return "", false
	}
	if strings.Count(s, "@") == 0 {
		return "", false
	}
	local := as[0].local
	if needsQuoting(local) {
		local = `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(local) + `"`
	}
	return local + "@" + strings.ToLower(as[0].domain), true
}

func needsQuoting(local string) bool {
	if local == "" || local[0] == '.' || local[len(local)-1] == '.' || strings.Contains(local, "..") {
		return true
	}
	for i := 0; i < len(local); i++ {
		if c := local[i]; !isAtext(c) && c != '.' {
			return true
		}
	}
	return false
}
