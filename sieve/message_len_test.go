package sieve

import (
	"bytes"
	"io"
	"testing"
)

// shortLen claims fewer bytes than it holds.
type shortLen struct{ r *bytes.Reader }

func (s shortLen) Read(p []byte) (int, error) { return s.r.Read(p) }
func (s shortLen) Len() int                   { return s.r.Len() - 5 }

// ParseMessage reads an in-memory message in one allocation and still reads all of a
// message whose Len() understates it.
func TestParseMessageInMemory(t *testing.T) {
	t.Parallel()
	const text = "Subject: hello\r\nX-Spam: Yes\r\n\r\nbody text\r\n"
	for name, r := range map[string]io.Reader{
		"bytes.Reader": bytes.NewReader([]byte(text)),
		"short Len":    shortLen{bytes.NewReader([]byte(text))},
		"plain reader": io.MultiReader(bytes.NewReader([]byte(text))),
	} {
		m, err := ParseMessage(r)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if m.Size() != int64(len(text)) {
			t.Fatalf("%s: size %d, want %d", name, m.Size(), len(text))
		}
	}
}
