package imap

import (
	"bufio"
	"bytes"
	"io"
	"testing"
	"testing/iotest"
)

// FuzzCRLFReader: streaming a message through crlfReader, in reads of any size, gives
// the same bytes as converting it whole (toCRLF), whatever mix of LF, CRLF and lone CR
// the file holds.
func FuzzCRLFReader(f *testing.F) {
	f.Add([]byte("Subject: x\nFrom: y\r\n\r\nbody\nline\r\n"), uint8(1), uint8(16))
	f.Add([]byte("\n\n\r\r\n\r"), uint8(2), uint8(16))
	f.Add([]byte("no line end at all"), uint8(3), uint8(17))
	f.Fuzz(func(t *testing.T, data []byte, chunk, bufSize uint8) {
		want := toCRLF(append([]byte(nil), data...))
		r := &crlfReader{r: bufio.NewReaderSize(iotest.HalfReader(bytes.NewReader(data)), 16+int(bufSize))}
		var got bytes.Buffer
		buf := make([]byte, 1+int(chunk)%64)
		for {
			n, err := r.Read(buf)
			got.Write(buf[:n])
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatal(err)
			}
		}
		if !bytes.Equal(got.Bytes(), want) {
			t.Fatalf("crlfReader(%q) = %q, want %q", data, got.Bytes(), want)
		}
	})
}
