package smtp

import (
	"strings"
	"testing"
)

func TestParseMessageID(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"From: a\r\nMessage-ID: <x1@example.org>\r\n\r\nbody":            "x1@example.org",
		"message-id:\r\n <folded@example.org>\r\n\r\n":                   "folded@example.org",
		"From: a\r\n\r\nMessage-ID: <in-body@example.org>\r\n":           "",
		"Message-ID: <bad id@example.org>\r\n\r\n":                       "",
		"Message-ID: <" + strings.Repeat("x", 300) + "@example.org>\r\n": "",
		"": "",
	} {
		if got := parseMessageID([]byte(in)); got != want {
			t.Errorf("parseMessageID(%q) = %q, want %q", in, got, want)
		}
	}
	if got := messageID(BytesMessage("Message-ID: <m@example.org>\r\n\r\nx")); got != "m@example.org" {
		t.Errorf("messageID = %q", got)
	}
}

func FuzzParseMessageID(f *testing.F) {
	f.Add([]byte("Message-ID: <x@y>\r\n\r\n"))
	f.Add([]byte("message-id:\r\n\t<x@y>\r\n"))
	f.Fuzz(func(t *testing.T, h []byte) {
		id := parseMessageID(h)
		if strings.ContainsAny(id, "\r\n \t\"") || len(id) > 250 {
			t.Fatalf("unsafe id %q", id)
		}
	})
}
