package mimeparse

import (
	"encoding/base64"
	"io"
	"mime/quotedprintable"
	"strings"

	"github.com/emersion/go-message/charset"
)

// Decode returns the content of part q read from body (q's raw body, e.g. q.Body(m)):
// its Content-Transfer-Encoding undone and, for text/* parts, its charset converted to
// UTF-8. An unknown encoding or charset leaves the bytes as they are. Decoding streams:
// the caller bounds what it reads.
func Decode(q *Part, body io.Reader) io.Reader {
	body, _, _ = DecodeTransfer(q, body)
	if q.Type != "text" {
		return body
	}
	cs := strings.ToLower(q.Params["charset"])
	switch cs {
	case "", "us-ascii", "utf-8", "utf8":
		return body
	}
	if r, err := charset.Reader(cs, body); err == nil {
		return r
	}
	return body
}

// DecodeTransfer returns q's body read from body with its Content-Transfer-Encoding
// undone (base64, quoted-printable), and nothing else: the octets IMAP's BINARY
// returns. identity says no decoding was needed (none, 7bit, 8bit, binary); known is
// false for an encoding it does not know, whose body is returned as it is.
func DecodeTransfer(q *Part, body io.Reader) (r io.Reader, identity, known bool) {
	switch strings.ToLower(strings.TrimSpace(q.Header.Get("Content-Transfer-Encoding"))) {
	case "base64":
		return base64.NewDecoder(base64.StdEncoding, &skipSpace{r: body}), false, true
	case "quoted-printable":
		return quotedprintable.NewReader(body), false, true
	case "", "7bit", "8bit", "binary":
		return body, true, true
	}
	return body, true, false
}

// skipSpace drops white space and line ends from a base64 body, which the decoder
// would otherwise refuse.
type skipSpace struct{ r io.Reader }

func (s *skipSpace) Read(p []byte) (int, error) {
	for {
		n, err := s.r.Read(p)
		j := 0
		for _, c := range p[:n] {
			if c != ' ' && c != '\t' && c != '\r' && c != '\n' {
				p[j] = c
				j++
			}
		}
		if j > 0 || err != nil {
			return j, err
		}
	}
}
