package smtp

import (
	"bytes"
	"fmt"
	"io"
	"os"
)

// spool collects message text: in memory up to threshold octets, then in a
// temporary file in dir. It is not durable storage: the Deliverer writes the
// durable copy, and the file is removed when the transaction ends.
type spool struct {
	dir       string
	threshold int64
	buf       bytes.Buffer
	f         *os.File
	size      int64
}

func (s *spool) Write(p []byte) (int, error) {
	if s.f == nil && int64(s.buf.Len()+len(p)) > s.threshold {
		f, err := os.CreateTemp(s.dir, "postern-smtp-*.eml")
		if err != nil {
			return 0, fmt.Errorf("spool: %w", err)
		}
		s.f = f
		if _, err := f.Write(s.buf.Bytes()); err != nil {
			return 0, fmt.Errorf("spool: %w", err)
		}
		s.buf = bytes.Buffer{}
	}
	var n int
	var err error
	if s.f != nil {
		n, err = s.f.Write(p)
		if err != nil {
			err = fmt.Errorf("spool: %w", err)
		}
	} else {
		n, _ = s.buf.Write(p)
	}
	s.size += int64(n)
	return n, err
}

// message finishes writing and returns the text as a Message.
func (s *spool) message() (Message, error) {
	if s.f == nil {
		return BytesMessage(s.buf.Bytes()), nil
	}
	if err := s.f.Close(); err != nil {
		return nil, fmt.Errorf("spool: %w", err)
	}
	return fileMessage{path: s.f.Name(), size: s.size}, nil
}

// discard removes the spool file, if any.
func (s *spool) discard() {
	if s.f != nil {
		s.f.Close()
		os.Remove(s.f.Name())
		s.f = nil
	}
	s.buf = bytes.Buffer{}
}

// BytesMessage is a Message held in memory (a spooled small message, or one the server
// makes itself: a DSN, a vacation reply).
type BytesMessage []byte

func (m BytesMessage) Size() int64 { return int64(len(m)) }
func (m BytesMessage) Open() (io.ReadCloser, error) {
	return io.NopCloser(bytes.NewReader(m)), nil
}

type fileMessage struct {
	path string
	size int64
}

func (m fileMessage) Size() int64 { return m.size }
func (m fileMessage) Open() (io.ReadCloser, error) {
	f, err := os.Open(m.path)
	if err != nil {
		return nil, fmt.Errorf("spooled message: %w", err)
	}
	return f, nil
}
