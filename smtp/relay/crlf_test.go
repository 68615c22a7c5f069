package relay

import (
	"strings"
	"testing"
)

func TestBareCRWriter(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"a\r\nb\r\n":          "a\r\nb\r\n",
		"a\rb\r\n":            "a\r\nb\r\n",
		"\r.\r\nsmuggled\r\n": "\r\n.\r\nsmuggled\r\n",
		"end\r":               "end\r\n",
	} {
		// Every split point, so that a CR at the end of one Write is handled.
		for cut := 0; cut <= len(in); cut++ {
			var b strings.Builder
			w := &bareCRWriter{w: &b}
			w.Write([]byte(in[:cut]))
			w.Write([]byte(in[cut:]))
			w.finish()
			if b.String() != want {
				t.Errorf("%q cut at %d: %q, want %q", in, cut, b.String(), want)
			}
		}
	}
}
