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
	switch strings.ToLower(strings.TrimSpace(q.Header.Get("Content-Transfer-Encoding"))) {
	case "base64":
		body = base64.NewDecoder(base64.StdEncoding, &skipSpace{r: body})
	case "quoted-printable":
		body = quotedprintable.NewReader(body)
	}
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
