package sieve

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"sync"

	"github.com/postern/postern/mimeparse"
)

// StreamMessage is a Message read with bounded memory, made to be parsed once per
// delivery and shared by the runs of every recipient: it keeps the header block (up to
// Dovecot's 10 MiB header-block limit, mimeparse.Limits.MaxHeaderBlock; fields past it
// are not seen) and, only when a test first asks for the body, the body's first
// maxBodyScan bytes, which is all any test reads. A message of any size costs at most
// those two bounds, not its size per recipient. It is safe for concurrent use.
type StreamMessage struct {
	hdr    *RawMessage // the header block alone
	open   func() (io.ReadCloser, error)
	bodyAt int64
	size   int64

	once    sync.Once
	body    []byte
	bodyErr error
}

var _ headerLister = (*StreamMessage)(nil)

// ReadMessage reads the header of the message open returns (size octets in all); the
// body is read later through open again, when and if a test needs it.
func ReadMessage(open func() (io.ReadCloser, error), size int64) (*StreamMessage, error) {
	rc, err := open()
	if err != nil {
		return nil, fmt.Errorf("sieve: reading message: %w", err)
	}
	defer rc.Close()
	hdr, bodyAt, err := readHeaderBlock(bufio.NewReaderSize(rc, 32<<10), mimeparse.DefaultLimits().MaxHeaderBlock)
	if err != nil {
		return nil, fmt.Errorf("sieve: reading message: %w", err)
	}
	return &StreamMessage{hdr: NewRawMessage(hdr), open: open, bodyAt: bodyAt, size: size}, nil
}

// readHeaderBlock returns the header's whole lines up to max bytes, the blank line
// included, and where the body starts (scanning on past max without keeping).
func readHeaderBlock(br *bufio.Reader, max int64) ([]byte, int64, error) {
	var kept bytes.Buffer
	var off int64
	lineStart, keeping := true, true
	for {
		chunk, err := br.ReadSlice('\n')
		if err != nil && err != bufio.ErrBufferFull && err != io.EOF {
			return nil, 0, err
		}
		blank := lineStart && (string(chunk) == "\r\n" || string(chunk) == "\n")
		if keeping && off+int64(len(chunk)) > max {
			keeping = false
		}
		if keeping {
			kept.Write(chunk)
		}
		off += int64(len(chunk))
		lineStart = len(chunk) > 0 && chunk[len(chunk)-1] == '\n'
		if blank || err == io.EOF {
			if !blank || !keeping {
				kept.WriteString("\r\n") // the block always ends in its blank line
			}
			return kept.Bytes(), off, nil
		}
	}
}

// HeaderFields implements Message.
func (m *StreamMessage) HeaderFields(name string) []string { return m.hdr.HeaderFields(name) }

// Size implements Message.
func (m *StreamMessage) Size() int64 { return m.size }

// Body implements Message: the first maxBodyScan bytes of the body, read once.
func (m *StreamMessage) Body() (io.Reader, error) {
	m.once.Do(func() { m.body, m.bodyErr = m.readBody() })
	return bytes.NewReader(m.body), m.bodyErr
}

func (m *StreamMessage) readBody() ([]byte, error) {
	rc, err := m.open()
	if err != nil {
		return nil, fmt.Errorf("sieve: reading message body: %w", err)
	}
	defer rc.Close()
	if _, err := io.CopyN(io.Discard, rc, m.bodyAt); err != nil {
		return nil, nil // all header: no body
	}
	b, err := io.ReadAll(io.LimitReader(rc, maxBodyScan))
	if err != nil {
		return nil, fmt.Errorf("sieve: reading message body: %w", err)
	}
	return b, nil
}

func (m *StreamMessage) fieldList() []headerField { return m.hdr.fields }
func (m *StreamMessage) rawHeader() []byte        { return m.hdr.raw }
