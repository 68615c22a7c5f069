package smtp

import (
	"errors"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestParseAddress(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		in, local, domain, str string
		utf8                   bool
		err                    error
	}{
		{in: "Alice@Example.COM", local: "Alice", domain: "example.com", str: "Alice@example.com"},
		{in: "<a.b+tag@example.com>", local: "a.b+tag", domain: "example.com", str: "a.b+tag@example.com"},
		{in: `"a b"@example.com`, local: "a b", domain: "example.com", str: `"a b"@example.com`},
		{in: `a b@example.com`, local: "a b", domain: "example.com", str: `"a b"@example.com`}, // as go-smtp unquotes
		{in: `"a\"b@c"@example.com`, local: `a"b@c`, domain: "example.com", str: `"a\"b@c"@example.com`},
		{in: "x@[192.0.2.1]", local: "x", domain: "[192.0.2.1]", str: "x@[192.0.2.1]"},
		{in: "x@[IPv6:2001:DB8::1]", local: "x", domain: "[ipv6:2001:db8::1]", str: "x@[ipv6:2001:db8::1]"},
		{in: "jösé@bücher.example", utf8: true, local: "jösé", domain: "bücher.example", str: "jösé@bücher.example"},
		{in: "jösé@example.com", err: ErrNonASCII},
		{in: "a@bücher.example", err: ErrNonASCII},
		{in: "noat", err: ErrAddressSyntax},
		{in: "@example.com", err: ErrAddressSyntax},
		{in: "a@", err: ErrAddressSyntax},
		{in: "a@-x.example", err: ErrAddressSyntax},
		{in: "a@x..example", err: ErrAddressSyntax},
		{in: "a@[300.1.1.1]", err: ErrAddressSyntax},
		{in: "a@1.2.3.4", err: ErrAddressSyntax},
		{in: "a\x01b@example.com", err: ErrAddressSyntax},
		{in: strings.Repeat("a", 65) + "@example.com", err: ErrAddressLength},
		{in: "a@" + strings.Repeat("b", 64) + ".example", err: ErrAddressSyntax},
	} {
		a, err := ParseAddress(tc.in, tc.utf8)
		if tc.err != nil {
			if !errors.Is(err, tc.err) {
				t.Errorf("ParseAddress(%q) = %+v, %v; want %v", tc.in, a, err, tc.err)
			}
			continue
		}
		if err != nil || a.Local != tc.local || a.Domain != tc.domain || a.String() != tc.str {
			t.Errorf("ParseAddress(%q) = %+v (%q), %v", tc.in, a, a.String(), err)
		}
	}
}

func TestCheckHELO(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name        string
		valid, fqdn bool
	}{
		{"mail.example.org", true, true},
		{"MAIL.Example.ORG", true, true},
		{"localhost", true, false},
		{"[192.0.2.1]", true, true},
		{"[IPv6:::1]", true, true},
		{"[IPv6:192.0.2.1]", false, false},
		{"192.0.2.1", false, false},
		{"mail..example", false, false},
		{"mail.example.org.", false, false},
		{"bad,name", false, false},
	} {
		v, f := CheckHELO(tc.name)
		if v != tc.valid || f != tc.fqdn {
			t.Errorf("CheckHELO(%q) = %v, %v; want %v, %v", tc.name, v, f, tc.valid, tc.fqdn)
		}
	}
}

// FuzzParseAddress: never panics; an accepted address round-trips through
// String, stays within the RFC 5321 limits and has a lower-case domain.
func FuzzParseAddress(f *testing.F) {
	for _, s := range []string{"a@example.com", `"a b"@x.y`, "x@[IPv6:::1]", "jösé@bücher.example", "<a@b.c>", `"\"@x.y`, "a@[1.2.3.4]"} {
		f.Add(s, true)
		f.Add(s, false)
	}
	f.Fuzz(func(t *testing.T, s string, utf8ok bool) {
		a, err := ParseAddress(s, utf8ok)
		if err != nil {
			return
		}
		if len(a.Local) > maxLocalPart || len(a.Local)+1+len(a.Domain) > maxMailbox || a.Local == "" {
			t.Fatalf("%q: limits broken: %+v", s, a)
		}
		if a.Domain != strings.ToLower(a.Domain) {
			t.Fatalf("%q: domain not lower-cased: %q", s, a.Domain)
		}
		if !utf8ok && (!isASCII(a.Local) || !isASCII(a.Domain)) {
			t.Fatalf("%q: non-ASCII accepted without SMTPUTF8", s)
		}
		if utf8ok && !utf8.ValidString(a.String()) {
			t.Fatalf("%q: invalid UTF-8 accepted", s)
		}
		b, err := ParseAddress(a.String(), utf8ok)
		if err != nil || b != a {
			t.Fatalf("%q -> %q -> %+v, %v; want %+v", s, a.String(), b, err, a)
		}
	})
}

func FuzzCheckHELO(f *testing.F) {
	for _, s := range []string{"mail.example.org", "[192.0.2.1]", "[IPv6:::1]", "localhost", "a_b.c"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		valid, fqdn := CheckHELO(s)
		if fqdn && !valid {
			t.Fatalf("%q: fqdn but not valid", s)
		}
		if valid && strings.ContainsAny(s, " \r\n\t<>@") {
			t.Fatalf("%q accepted", s)
		}
	})
}
