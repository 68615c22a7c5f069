package config

import (
	"errors"
	"strings"
	"testing"
)

// FuzzParse checks that no document makes Parse panic, that every problem is
// a *Error naming the file with a line inside the document, and that a
// Config Parse accepts also passes Validate and serves its helpers.
func FuzzParse(f *testing.F) {
	f.Add([]byte(valid))
	f.Add(DefaultTOML("mail.example.com"))
	f.Add([]byte(valid + "[smtp]\nmesage_size_limit = 5\n[relay]\nport = 465\n"))
	f.Add([]byte(valid + "[relays.a]\nprovider = \"ses\"\n[[route]]\nvia = \"a\"\n[[route]]\nrecipient_domains = [\"x\"]\nvia = 1\n[route.3]\n"))
	f.Add([]byte(valid + "route = [{ via = \"direct\" }, 5]\nrelays = { a = { fallback = \"a\" } }\n"))
	f.Add([]byte("listen = { smtp = \":25\", imap = 143 }\nsmtp.trusted_networks = [1, [2]]\n[[tls]]\n"))
	f.Add([]byte("a.b.c = 1\n[a.b]\n[x]\ny = 1979-05-27T07:32:00Z\n"))
	f.Add([]byte("hostname = \"\"\"\nmulti\"\"\"\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := Parse(data, "fuzz.toml")
		if err != nil {
			if c != nil {
				t.Fatal("Parse returned a Config with an error")
			}
			nlines := strings.Count(string(data), "\n") + 1
			var all interface{ Unwrap() []error }
			errs := []error{err}
			if errors.As(err, &all) {
				errs = all.Unwrap()
			}
			for _, e := range errs {
				var ce *Error
				if !errors.As(e, &ce) {
					t.Fatalf("problem %v is not a *Error", e)
				}
				if ce.File != "fuzz.toml" || ce.Line < 0 || ce.Line > nlines {
					t.Fatalf("problem %+v: bad file or line (document has %d lines)", ce, nlines)
				}
			}
			return
		}
		if err := c.Validate(); err != nil {
			t.Fatalf("Parse accepted but Validate says: %v", err)
		}
		_ = c.Warnings()
		if len(c.Addrs()) == 0 && c.Listen != (Listen{}) {
			t.Fatalf("listeners configured but Addrs is empty: %+v", c.Listen)
		}
	})
}
