package relay

import (
	"bytes"
	"io"
)

// bareCRWriter turns every CR not followed by LF into CRLF on its way to the DATA
// stream, so nothing we send holds a bare CR: a lax server downstream could read
// "<CR>.<CR><LF>" as the end of the message and what follows as another (SMTP
// smuggling). textproto's DotWriter already makes a bare LF CRLF.
type bareCRWriter struct {
	w  io.Writer
	cr bool // the last octet written was a CR whose follower is not known yet
}

var lf = []byte{'\n'}

func (b *bareCRWriter) Write(p []byte) (int, error) {
	n := len(p)
	if b.cr && len(p) > 0 {
		b.cr = false
		if p[0] != '\n' {
			if _, err := b.w.Write(lf); err != nil {
				return 0, err
			}
		}
	}
	start := 0
	for i := 0; ; i++ {
		j := bytes.IndexByte(p[i:], '\r')
		if j < 0 {
			break
		}
		i += j
		if i+1 == len(p) {
			b.cr = true
			break
		}
		if p[i+1] != '\n' {
			if _, err := b.w.Write(p[start : i+1]); err != nil {
				return 0, err
			}
			if _, err := b.w.Write(lf); err != nil {
				return 0, err
			}
			start = i + 1
		}
	}
	if _, err := b.w.Write(p[start:]); err != nil {
		return 0, err
	}
	return n, nil
}

// finish ends a text whose last octet is a CR.
func (b *bareCRWriter) finish() error {
	if !b.cr {
		return nil
	}
	b.cr = false
	_, err := b.w.Write(lf)
	return err
}
