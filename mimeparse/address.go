package mimeparse

import (
	"net/mail"
	"strings"
)

// AddressList parses an address-list field (RFC 5322 section 3.4) for an ENVELOPE,
// groups kept as start and end markers. It is lenient: an entry that does not parse
// is kept for what can be read of it, and one without a domain is left out.
func AddressList(v string) []Address {
	if strings.TrimSpace(v) == "" {
		return nil
	}
	d := decoder()
	ap := &mail.AddressParser{WordDecoder: d}
	var out []Address
	inGroup := false
	for _, it := range splitAddresses(v) {
		switch it.kind {
		case itemGroupStart:
			if inGroup {
				out = append(out, Address{})
			}
			out = append(out, Address{Mailbox: groupName(d, it.text)})
			inGroup = true
		case itemGroupEnd:
			if inGroup {
				out = append(out, Address{})
				inGroup = false
			}
		default:
			if a, ok := oneAddress(ap, it.text); ok {
				out = append(out, a)
			}
		}
	}
	if inGroup {
		out = append(out, Address{})
	}
	return out
}

func groupName(d interface{ DecodeHeader(string) (string, error) }, s string) string {
	s = strings.TrimSpace(s)
	if len(s) >= 2 && s[0] == '"' && s[len(s)-1] == '"' {
		s = strings.ReplaceAll(s[1:len(s)-1], `\`, "")
	}
	if t, err := d.DecodeHeader(s); err == nil {
		s = t
	}
	if s == "" {
		s = "undisclosed-recipients"
	}
	return s
}

// oneAddress reads one mailbox; ok is false when it has no domain.
func oneAddress(ap *mail.AddressParser, s string) (Address, bool) {
	s = strings.TrimSpace(s)
	if s == "" {
		return Address{}, false
	}
	var name, addr string
	if a, err := ap.Parse(s); err == nil {
		name, addr = a.Name, a.Address
	} else if i, j := strings.LastIndexByte(s, '<'), strings.LastIndexByte(s, '>'); i >= 0 && j > i {
		addr = strings.TrimSpace(s[i+1 : j])
		name = strings.Trim(strings.TrimSpace(s[:i]), `"`)
	} else {
		addr = s
	}
	addr = stripComments(addr) // "<user (c)@ (c) domain.org>": comments may sit anywhere (RFC 5322 3.2.2)
	var route string
	if k := strings.LastIndexByte(addr, ':'); k >= 0 && strings.HasPrefix(addr, "@") {
		// an obsolete source route (RFC 5322 4.4): "@a, @b :" -> "@a,@b"
		route, addr = strings.Join(strings.Fields(addr[:k]), ""), strings.TrimSpace(addr[k+1:])
	}
	k := strings.LastIndexByte(addr, '@')
	if k < 0 {
		return Address{}, false
	}
	mbox, host := addr[:k], addr[k+1:]
	if host == "" || strings.ContainsAny(host, " \t<>") {
		return Address{}, false
	}
	return Address{Name: name, Route: route, Mailbox: mbox, Host: host}, true
}

type itemKind int

const (
	itemAddress itemKind = iota
	itemGroupStart
	itemGroupEnd
)

type addrItem struct {
	kind itemKind
	text string
}

// splitAddresses cuts an address list at its top-level ',' ':' and ';', outside quoted
// strings, comments, angle brackets and domain literals.
func splitAddresses(v string) []addrItem {
	var out []addrItem
	start, depth, angle, square := 0, 0, false, false
	quoted := false
	emit := func(end int, k itemKind) {
		out = append(out, addrItem{kind: k, text: v[start:end]})
		start = end + 1
	}
	for i := 0; i < len(v); i++ {
		c := v[i]
		switch {
		case quoted:
			if c == '\\' {
				i++
			} else if c == '"' {
				quoted = false
			}
		case depth > 0:
			if c == '\\' {
				i++
			} else if c == '(' {
				depth++
			} else if c == ')' {
				depth--
			}
		case c == '"':
			quoted = true
		case c == '(':
			depth++
		case square:
			square = c != ']'
		case c == '[':
			square = true
		case angle:
			angle = c != '>'
		case c == '<':
			angle = true
		case c == ',':
			emit(i, itemAddress)
		case c == ':':
			emit(i, itemGroupStart)
		case c == ';':
			emit(i, itemAddress)
			out = append(out, addrItem{kind: itemGroupEnd})
		}
	}
	out = append(out, addrItem{kind: itemAddress, text: v[start:]})
	return out
}

// stripComments removes (nested) comments and the white space around an addr-spec's
// parts, outside quoted strings; a string without "(" is returned as it is.
func stripComments(s string) string {
	if !strings.Contains(s, "(") {
		return s
	}
	var b strings.Builder
	depth, quoted := 0, false
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case quoted:
			b.WriteByte(c)
			if c == '\\' && i+1 < len(s) {
				i++
				b.WriteByte(s[i])
			} else if c == '"' {
				quoted = false
			}
		case depth > 0:
			if c == '\\' {
				i++
			} else if c == '(' {
				depth++
			} else if c == ')' {
				depth--
			}
		case c == '(':
			depth++
		case c == '"':
			quoted = true
			b.WriteByte(c)
		case c == ' ' || c == '\t':
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}
