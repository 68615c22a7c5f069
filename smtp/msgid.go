package smtp

import (
	"bytes"
	"io"
)

// msgIDScan is how much of a message's start is looked at for its Message-ID field.
const msgIDScan = 8 << 10

// messageID returns the Message-ID field of m's header section (RFC 5322 3.6.4) as
// written, without the angle brackets, or "" when the first msgIDScan octets hold none.
// It is for the mail log ("message" line) and postern trace; nothing trusts it.
func messageID(m Message) string {
	r, err := m.Open()
	if err != nil {
		return ""
	}
	defer r.Close()
	buf := make([]byte, min(m.Size(), msgIDScan))
	n, _ := io.ReadFull(r, buf)
	return parseMessageID(buf[:n])
}

// parseMessageID finds the Message-ID field in a header section prefix.
func parseMessageID(h []byte) string {
	for len(h) > 0 {
		line, rest, _ := bytes.Cut(h, []byte("\n"))
		line = bytes.TrimRight(line, "\r")
		if len(line) == 0 {
			return "" // the end of the header section
		}
		if name, value, ok := bytes.Cut(line, []byte(":")); ok && bytes.EqualFold(bytes.TrimSpace(name), []byte("Message-ID")) {
			v := bytes.TrimSpace(value)
			if len(v) == 0 && len(rest) > 0 && (rest[0] == ' ' || rest[0] == '\t') { // folded
				next, _, _ := bytes.Cut(rest, []byte("\n"))
				v = bytes.TrimSpace(next)
			}
			v = bytes.Trim(v, "<>")
			if len(v) > 250 || bytes.ContainsAny(v, "\r\n \t\"") {
				return ""
			}
			return string(v)
		}
		h = rest
	}
	return ""
}
