package smtp

import (
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"unicode/utf8"
)

// Address is a mailbox split into its local part and domain. Local keeps its case
// (RFC 5321 section 2.4: only the destination host may interpret it); Domain is
// lower-cased. A quoted local part is stored unquoted; String quotes it again.
type Address struct {
	Local  string
	Domain string
}

// Errors from ParseAddress, wrapped with details.
var (
	ErrAddressSyntax = errors.New("invalid address syntax")
	ErrAddressLength = errors.New("address too long")
	ErrNonASCII      = errors.New("non-ASCII address without SMTPUTF8")
)

// Limits from RFC 5321 section 4.5.3.1.
const (
	maxLocalPart = 64
	maxDomain    = 255
	maxMailbox   = 254 // the 256-octet path less the angle brackets
	maxLabel     = 63
)

// String renders the address for an SMTP command or a header, quoting the local
// part when it is not a dot-string (RFC 5321 section 4.1.2).
func (a Address) String() string {
	if a.Local == "" && a.Domain == "" {
		return ""
	}
	local := a.Local
	if !isDotString(local, true) {
		var b strings.Builder
		b.WriteByte('"')
		for i := 0; i < len(local); i++ {
			if local[i] == '"' || local[i] == '\\' {
				b.WriteByte('\\')
			}
			b.WriteByte(local[i])
		}
		b.WriteByte('"')
		local = b.String()
	}
	return local + "@" + a.Domain
}

// ParseAddress parses a mailbox as go-smtp hands it over ("local@domain", a quoted
// local part already unquoted) or as written in a command ("<\"a b\"@example.com>").
// utf8 allows non-ASCII local parts and domains (RFC 6531); without it they are
// refused with ErrNonASCII. The null reverse-path "" is not an address: callers
// check for it first.
func ParseAddress(s string, utf8 bool) (Address, error) {
	if len(s) >= 2 && s[0] == '<' && s[len(s)-1] == '>' {
		s = s[1 : len(s)-1]
	}
	at := strings.LastIndexByte(s, '@')
	if at <= 0 || at == len(s)-1 {
		return Address{}, fmt.Errorf("%w: want local@domain", ErrAddressSyntax)
	}
	local, err := parseLocalPart(s[:at], utf8)
	if err != nil {
		return Address{}, err
	}
	domain, err := normalizeDomain(s[at+1:], utf8)
	if err != nil {
		return Address{}, err
	}
	if len(local) > maxLocalPart {
		return Address{}, fmt.Errorf("%w: local part over %d octets", ErrAddressLength, maxLocalPart)
	}
	if len(local)+1+len(domain) > maxMailbox {
		return Address{}, fmt.Errorf("%w: over %d octets", ErrAddressLength, maxMailbox)
	}
	return Address{Local: local, Domain: domain}, nil
}

// parseLocalPart accepts a dot-string, a quoted-string, or the contents of a
// quoted-string that go-smtp already unquoted (printable characters).
func parseLocalPart(s string, utf8ok bool) (string, error) {
	if !isASCII(s) {
		if !utf8ok {
			return "", ErrNonASCII
		}
		if !utf8.ValidString(s) {
			return "", fmt.Errorf("%w: invalid UTF-8", ErrAddressSyntax)
		}
	}
	if len(s) >= 2 && s[0] == '"' && s[len(s)-1] == '"' {
		return unquote(s[1 : len(s)-1])
	}
	for _, r := range s {
		if r < 0x20 || r == 0x7f {
			return "", fmt.Errorf("%w: control character in local part", ErrAddressSyntax)
		}
	}
	return s, nil
}

// unquote removes quoted-pairs from the inside of a quoted-string
// (RFC 5321 section 4.1.2: qtextSMTP / quoted-pairSMTP).
func unquote(s string) (string, error) {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '\\':
			i++
			if i == len(s) || s[i] < 0x20 || s[i] == 0x7f {
				return "", fmt.Errorf("%w: bad quoted-pair", ErrAddressSyntax)
			}
			b.WriteByte(s[i])
		case c == '"' || c < 0x20 || c == 0x7f:
			return "", fmt.Errorf("%w: bad character in quoted string", ErrAddressSyntax)
		default:
			b.WriteByte(c)
		}
	}
	if b.Len() == 0 {
		return "", fmt.Errorf("%w: empty local part", ErrAddressSyntax)
	}
	return b.String(), nil
}

// isDotString reports whether s is an RFC 5321 Dot-string: atoms of atext joined
// by single dots. With utf8, non-ASCII characters count as atext (RFC 6531).
func isDotString(s string, utf8ok bool) bool {
	if s == "" || s[0] == '.' || s[len(s)-1] == '.' || strings.Contains(s, "..") {
		return false
	}
	for _, r := range s {
		if r >= 0x80 {
			if !utf8ok || r == utf8.RuneError {
				return false
			}
			continue
		}
		if !isAtext(byte(r)) && r != '.' {
			return false
		}
	}
	return true
}

// isAtext: RFC 5322 section 3.2.3.
func isAtext(c byte) bool {
	switch {
	case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		return true
	}
	return strings.IndexByte("!#$%&'*+-/=?^_`{|}~", c) >= 0
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}

// normalizeDomain validates a domain or address literal and lower-cases it.
func normalizeDomain(d string, utf8ok bool) (string, error) {
	if IsAddressLiteral(d) {
		return strings.ToLower(d), nil
	}
	if strings.HasPrefix(d, "[") {
		return "", fmt.Errorf("%w: bad address literal", ErrAddressSyntax)
	}
	if !isASCII(d) && !utf8ok {
		return "", ErrNonASCII
	}
	d = strings.ToLower(d)
	if err := validDomainName(d); err != nil {
		return "", err
	}
	return d, nil
}

// IsAddressLiteral reports whether d is an IPv4 or IPv6 address literal such as
// "[192.0.2.1]" or "[IPv6:2001:db8::1]" (RFC 5321 section 4.1.3).
func IsAddressLiteral(d string) bool {
	if len(d) < 3 || d[0] != '[' || d[len(d)-1] != ']' {
		return false
	}
	inner := d[1 : len(d)-1]
	if len(inner) > 5 && strings.EqualFold(inner[:5], "IPv6:") {
		a, err := netip.ParseAddr(inner[5:])
		return err == nil && a.Is6() && a.Zone() == ""
	}
	a, err := netip.ParseAddr(inner)
	return err == nil && a.Is4()
}

// validDomainName checks the label syntax of an already lower-cased name:
// letters, digits, hyphens (and underscores, which real HELO names contain), no
// hyphen at either end of a label, labels of 1-63 octets, 255 in all, and a
// top-level label that is not all digits (that would be a bare IP address).
// Non-ASCII labels (U-labels) are accepted as long as they are valid UTF-8.
func validDomainName(d string) error {
	if d == "" || len(d) > maxDomain {
		return fmt.Errorf("%w: domain empty or over %d octets", ErrAddressSyntax, maxDomain)
	}
	labels := strings.Split(d, ".")
	for _, l := range labels {
		if l == "" || len(l) > maxLabel {
			return fmt.Errorf("%w: empty or long label in %q", ErrAddressSyntax, d)
		}
		if l[0] == '-' || l[len(l)-1] == '-' {
			return fmt.Errorf("%w: label %q starts or ends with '-'", ErrAddressSyntax, l)
		}
		if !utf8.ValidString(l) {
			return fmt.Errorf("%w: invalid UTF-8 in domain", ErrAddressSyntax)
		}
		for _, r := range l {
			if r >= 0x80 {
				continue
			}
			if !('a' <= r && r <= 'z' || '0' <= r && r <= '9' || r == '-' || r == '_') {
				return fmt.Errorf("%w: character %q in domain", ErrAddressSyntax, r)
			}
		}
	}
	if strings.Trim(labels[len(labels)-1], "0123456789") == "" {
		return fmt.Errorf("%w: numeric top-level label", ErrAddressSyntax)
	}
	return nil
}

// IsFQDN reports whether d is a syntactically valid domain name with at least two
// labels, or an address literal: what Postfix's reject_non_fqdn_* accept.
func IsFQDN(d string) bool {
	if IsAddressLiteral(d) {
		return true
	}
	d = strings.ToLower(d)
	return validDomainName(d) == nil && strings.Contains(d, ".")
}

// CheckHELO classifies a HELO/EHLO/LHLO argument: valid is false for a name that is
// neither a domain nor an address literal (Postfix reject_invalid_helo_hostname);
// fqdn is false for a valid single-label name (reject_non_fqdn_helo_hostname).
func CheckHELO(name string) (valid, fqdn bool) {
	if IsAddressLiteral(name) {
		return true, true
	}
	if strings.HasPrefix(name, "[") {
		return false, false
	}
	if validDomainName(strings.ToLower(name)) != nil {
		return false, false
	}
	return true, strings.Contains(name, ".")
}
