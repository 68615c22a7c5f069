package localsubmit

import (
	"bufio"
	"fmt"
	"io"
	"os"
)

// spooledMessage is a message in a temporary file, with CRLF line ends.
type spooledMessage struct {
	path string
	size int64
}

func (m *spooledMessage) Size() int64                  { return m.size }
func (m *spooledMessage) Open() (io.ReadCloser, error) { return os.Open(m.path) }
func (m *spooledMessage) remove()                      { os.Remove(m.path) }

// spool copies exactly size octets of r into a temporary file, turning bare LF into
// CRLF (RFC 5322 section 2.3: mail has CRLF line ends; Unix programs write LF) and
// ending the text with a line end.
func (ls *Server) spool(r io.Reader, size int64) (*spooledMessage, error) {
	f, err := os.CreateTemp(ls.spoolDir, "postern-sendmail-*.eml")
	if err != nil {
		return nil, fmt.Errorf("spool: %w", err)
	}
	m := &spooledMessage{path: f.Name()}
	w := &crlfWriter{w: bufio.NewWriter(f)}
	n, err := io.Copy(w, r)
	if err == nil && n != size {
		err = fmt.Errorf("message ended after %d of %d bytes", n, size)
	}
	if err == nil {
		err = w.finish()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		m.remove()
		return nil, fmt.Errorf("spool: %w", err)
	}
	m.size = w.n
	return m, nil
}

// crlfWriter writes through w with every bare LF and every bare CR made CRLF (a bare
// CR would otherwise reach the smart host, where "<CR>.<CR><LF>" may end the message
// early on a lax server).
type crlfWriter struct {
	w    *bufio.Writer
	n    int64 // octets written to w
	last byte  // the last octet written
}

func (c *crlfWriter) Write(p []byte) (int, error) {
	for _, b := range p {
		if b != '\n' && c.last == '\r' {
			if err := c.w.WriteByte('\n'); err != nil {
				return 0, err
			}
			c.n++
		}
		if b == '\n' && c.last != '\r' {
			if err := c.w.WriteByte('\r'); err != nil {
				return 0, err
			}
			c.n++
		}
		if err := c.w.WriteByte(b); err != nil {
			return 0, err
		}
		c.n++
		c.last = b
	}
	return len(p), nil
}

// finish ends a non-empty text that lacks a final line end, and flushes.
func (c *crlfWriter) finish() error {
	if c.last == '\r' {
		if _, err := c.Write([]byte("\n")); err != nil {
			return err
		}
	}
	if c.n > 0 && c.last != '\n' {
		if _, err := c.Write([]byte("\r\n")); err != nil {
			return err
		}
	}
	return c.w.Flush()
}
