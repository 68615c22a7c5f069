package store

import (
	"errors"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestNormalizeDomain(t *testing.T) {
	t.Parallel()
	good := map[string]string{
		"Example.ORG":           "example.org",
		"example.org.":          "example.org",
		"mail.home.arpa":        "mail.home.arpa",
		"xn--bcher-kva.example": "xn--bcher-kva.example",
		"a-b.c0.net":            "a-b.c0.net",
		"1.2.3.example":         "1.2.3.example",
	}
	for in, want := range good {
		got, err := NormalizeDomain(in)
		if err != nil || got != want {
			t.Errorf("NormalizeDomain(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	bad := []string{"", ".", "localhost", "exa mple.org", "bücher.example", "-a.org", "a-.org",
		"a..org", ".a.org", "a_b.org", "1.2.3.4", "a.org..", "x@y.org", "a/b.org",
		strings.Repeat("a", 64) + ".org", strings.Repeat("abcdefghi.", 26) + "org"}
	for _, in := range bad {
		if got, err := NormalizeDomain(in); !errors.Is(err, ErrInvalid) {
			t.Errorf("NormalizeDomain(%q) = %q, %v; want ErrInvalid", in, got, err)
		}
	}
	if _, err := NormalizeDomain("localhost"); err == nil || !strings.Contains(err.Error(), "has no dot") {
		t.Errorf("single-label error should say it has no dot: %v", err)
	}
}

func TestNormalizeAddress(t *testing.T) {
	t.Parallel()
	good := map[string]string{
		"Alice@Example.ORG":        "alice@example.org",
		"a.b+tag@example.org":      "a.b+tag@example.org",
		"o'brien@example.org":      "o'brien@example.org",
		"ÉLODIE@example.org":       "élodie@example.org",
		"x_y-z=1@sub.example.org.": "x_y-z=1@sub.example.org",
	}
	for in, want := range good {
		got, err := NormalizeAddress(in)
		if err != nil || got != want {
			t.Errorf("NormalizeAddress(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	bad := []string{"", "alice", "@example.org", "alice@", "a@b@example.org", "a b@example.org",
		".a@example.org", "a.@example.org", "a..b@example.org", `"a"@example.org`, "a/b@example.org",
		"../x@example.org", "a\x00@example.org", "a\n@example.org", "a@localhost", "a@[1.2.3.4]",
		strings.Repeat("a", 65) + "@example.org", "a\u200b@example.org", "a\xff@example.org"}
	for _, in := range bad {
		if got, err := NormalizeAddress(in); !errors.Is(err, ErrInvalid) {
			t.Errorf("NormalizeAddress(%q) = %q, %v; want ErrInvalid", in, got, err)
		}
	}
}

func TestNormalizeAliasSource(t *testing.T) {
	t.Parallel()
	src, d, err := NormalizeAliasSource("@Example.org")
	if err != nil || src != "@example.org" || d != "example.org" {
		t.Fatalf("catch-all = %q %q %v", src, d, err)
	}
	src, d, err = NormalizeAliasSource("Info@Example.org")
	if err != nil || src != "info@example.org" || d != "example.org" {
		t.Fatalf("address = %q %q %v", src, d, err)
	}
	for _, in := range []string{"@", "@@example.org", "@localhost", "info"} {
		if _, _, err := NormalizeAliasSource(in); !errors.Is(err, ErrInvalid) {
			t.Errorf("NormalizeAliasSource(%q) err = %v, want ErrInvalid", in, err)
		}
	}
}

// FuzzNormalizeAddress checks the invariants other packages rely on: a normalised address
// is valid UTF-8, has one '@', contains no path separator or control character, and
// normalising it again changes nothing.
func FuzzNormalizeAddress(f *testing.F) {
	for _, s := range []string{"alice@example.org", "A.B+c@Example.ORG.", "élodie@xn--bcher-kva.example",
		"../../etc@x.org", "a@b", "@example.org", "a\x00b@c.org"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		out, err := NormalizeAddress(in)
		if err != nil {
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("error does not wrap ErrInvalid: %v", err)
			}
			return
		}
		if !utf8.ValidString(out) || strings.Count(out, "@") != 1 || strings.ContainsAny(out, "/\\\x00 \t\r\n") {
			t.Fatalf("NormalizeAddress(%q) = %q: unsafe result", in, out)
		}
		again, err := NormalizeAddress(out)
		if err != nil || again != out {
			t.Fatalf("not idempotent: %q -> %q -> %q, %v", in, out, again, err)
		}
		local, domain := SplitAddress(out)
		if local == "" || local == "." || local == ".." || domain == "" {
			t.Fatalf("bad parts %q %q", local, domain)
		}
	})
}
