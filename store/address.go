package store

import (
	"fmt"
	"strings"
	"unicode"
)

// Limits from RFC 5321 section 4.5.3.1 (local part 64 octets, domain 255) and RFC 1035
// section 2.3.4 (label 63 octets); 253 is the longest name that fits 255 in wire form.
const (
	maxLocalPart = 64
	maxDomain    = 253
	maxLabel     = 63
)

// NormalizeDomain validates a mail domain and returns it lower-cased, without a trailing
// dot. It must be an ASCII DNS host name of at least two labels (letters, digits, inner
// hyphens; RFC 1123 section 2.1) whose last label is not all digits (that would be an IP
// address). Internationalised domains are accepted in their A-label (punycode, "xn--")
// form only; the U-label form is refused with a hint rather than converted, because a
// conversion table is a dependency for a rare case.
func NormalizeDomain(name string) (string, error) {
	d := strings.TrimSuffix(name, ".")
	if d == "" {
		return "", fmt.Errorf("%w: empty domain", ErrInvalid)
	}
	if len(d) > maxDomain {
		return "", fmt.Errorf("%w: domain %q is longer than %d characters", ErrInvalid, clip(name), maxDomain)
	}
	for i := 0; i < len(d); i++ {
		if d[i] >= 0x80 {
			return "", fmt.Errorf("%w: domain %q is not ASCII; give it in punycode (xn--...) form", ErrInvalid, name)
		}
	}
	d = strings.ToLower(d)
	labels := strings.Split(d, ".")
	if len(labels) < 2 {
		return "", fmt.Errorf("%w: domain %q has no dot", ErrInvalid, name)
	}
	for _, l := range labels {
		if err := checkLabel(l); err != nil {
			return "", fmt.Errorf("%w: domain %q: %s", ErrInvalid, name, err)
		}
	}
	if allDigits(labels[len(labels)-1]) {
		return "", fmt.Errorf("%w: domain %q looks like an IP address", ErrInvalid, name)
	}
	return d, nil
}

func checkLabel(l string) error {
	switch {
	case l == "":
		return fmt.Errorf("empty label")
	case len(l) > maxLabel:
		return fmt.Errorf("label longer than %d characters", maxLabel)
	case l[0] == '-' || l[len(l)-1] == '-':
		return fmt.Errorf("label %q starts or ends with '-'", l)
	}
	for i := 0; i < len(l); i++ {
		c := l[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
			return fmt.Errorf("character %q not allowed", c)
		}
	}
	return nil
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// NormalizeAddress validates "local@domain" and returns it lower-cased (local part too,
// see the package doc). The local part must be an RFC 5322 dot-atom (section 3.2.3):
// letters, digits and !#$%&'*+-=?^_`{|}~ separated by single dots, plus UTF-8 letters
// (RFC 6531). Quoted local parts are refused, and so is '/', which RFC 5322 allows but
// which has no business in a Maildir path.
func NormalizeAddress(addr string) (string, error) {
	local, domain, err := splitAddress(addr)
	if err != nil {
		return "", err
	}
	if err := checkLocalPart(local); err != nil {
		return "", fmt.Errorf("%w: address %q: %s", ErrInvalid, clip(addr), err)
	}
	d, err := NormalizeDomain(domain)
	if err != nil {
		return "", fmt.Errorf("address %q: %w", clip(addr), err)
	}
	return strings.ToLower(local) + "@" + d, nil
}

// SplitAddress returns the local part and domain of a normalised address.
func SplitAddress(addr string) (local, domain string) {
	i := strings.LastIndexByte(addr, '@')
	if i < 0 {
		return addr, ""
	}
	return addr[:i], addr[i+1:]
}

// NormalizeAliasSource accepts what an alias may be keyed on: an address, or "@domain" for
// a catch-all. It returns the normalised source and its domain.
func NormalizeAliasSource(src string) (source, domain string, err error) {
	if rest, ok := strings.CutPrefix(src, "@"); ok {
		d, err := NormalizeDomain(rest)
		if err != nil {
			return "", "", fmt.Errorf("catch-all %q: %w", clip(src), err)
		}
		return "@" + d, d, nil
	}
	a, err := NormalizeAddress(src)
	if err != nil {
		return "", "", err
	}
	_, d := SplitAddress(a)
	return a, d, nil
}

func splitAddress(addr string) (local, domain string, err error) {
	if strings.Count(addr, "@") != 1 {
		return "", "", fmt.Errorf("%w: address %q must contain exactly one '@'", ErrInvalid, clip(addr))
	}
	local, domain, _ = strings.Cut(addr, "@")
	if local == "" {
		return "", "", fmt.Errorf("%w: address %q has an empty local part", ErrInvalid, clip(addr))
	}
	return local, domain, nil
}

func checkLocalPart(l string) error {
	if len(l) > maxLocalPart {
		return fmt.Errorf("local part longer than %d octets", maxLocalPart)
	}
	if l[0] == '.' || l[len(l)-1] == '.' || strings.Contains(l, "..") {
		return fmt.Errorf("local part has a leading, trailing or double dot")
	}
	for _, r := range l {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '.':
		case strings.ContainsRune("!#$%&'*+-=?^_`{|}~", r):
		case r >= 0x80 && r != 0xFFFD && isUTF8Letter(r):
		default:
			return fmt.Errorf("character %q not allowed in local part", r)
		}
	}
	return nil
}

// clip keeps error messages about hostile input short.
func clip(s string) string {
	if len(s) > 80 {
		return s[:80] + "..."
	}
	return s
}

// isUTF8Letter admits the non-ASCII characters RFC 6531 lets into a local part that are
// also safe in a file name: letters, marks and digits, never spaces, controls or symbols.
func isUTF8Letter(r rune) bool {
	return unicode.IsLetter(r) || unicode.IsMark(r) || unicode.IsDigit(r)
}
