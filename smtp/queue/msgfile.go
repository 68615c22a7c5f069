package queue

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"hash/crc32"
	"io"
	"os"
	"time"

	"github.com/postern/postern/store/durable"
)

// The message file: written once under its final name, never changed.
//
//	POSTERN-QUEUE-1\n
//	{"from":...,"rcpts":[...],"arrival":...}\n
//	<message text>
//	\nEND <16 hex digits: text length> <8 hex digits: CRC-32C>\n
//
// The CRC covers everything before the trailer. A file whose trailer is
// missing or wrong was being written when the process or the machine died;
// it was never acknowledged, and Open removes it. This lets Enqueue write
// the final name directly and fsync the file and its directory at the same
// time, instead of temp file, fsync, rename, fsync directory in sequence.
const (
	msgMagic   = "POSTERN-QUEUE-1\n"
	trailerLen = len("\nEND ") + 16 + 1 + 8 + 1
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// msgMeta is the JSON line of a message file.
type msgMeta struct {
	Envelope
	Arrival time.Time `json:"arrival"`
}

// errCorrupt marks a message file that failed validation.
var errCorrupt = errors.New("queue: corrupt message file")

// crcWriter feeds a hash and counts.
type crcWriter struct {
	w io.Writer
	h hash.Hash32
	n int64
}

func (c *crcWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.h.Write(p[:n])
	c.n += int64(n)
	return n, err
}

// writeMessage creates path exclusively (fs.ErrExist if the id is taken) and
// writes meta and the text from body. The file is left unsynced and open:
// the caller seals it (fsync) while the directory sync runs.
func writeMessage(path string, meta *msgMeta, body io.Reader, maxSize int64) (_ *durable.File, textLen, headerLen int64, err error) {
	f, err := durable.CreateExcl(path, modeQueued)
	if err != nil {
		return nil, 0, 0, err
	}
	defer func() {
		if err != nil {
			f.Abort()
		}
	}()
	line, err := json.Marshal(meta)
	if err != nil {
		return nil, 0, 0, fmt.Errorf("queue: encode metadata: %w", err)
	}
	bw := bufio.NewWriterSize(f, 32*1024)
	cw := &crcWriter{w: bw, h: crc32.New(castagnoli)}
	io.WriteString(cw, msgMagic)
	cw.Write(line)
	cw.Write([]byte{'\n'})
	headerLen = cw.n
	src := body
	if maxSize > 0 {
		src = io.LimitReader(body, maxSize+1)
	}
	if _, err := io.Copy(cw, src); err != nil {
		return nil, 0, 0, fmt.Errorf("queue: read message text: %w", err)
	}
	textLen = cw.n - headerLen
	if maxSize > 0 && textLen > maxSize {
		return nil, 0, 0, fmt.Errorf("queue: message larger than %d octets: %w", maxSize, ErrTooBig)
	}
	fmt.Fprintf(bw, "\nEND %016x %08x\n", textLen, cw.h.Sum32())
	if err := bw.Flush(); err != nil {
		return nil, 0, 0, err
	}
	return f, textLen, headerLen, nil
}

// ErrTooBig is returned by Enqueue for a message over Options' size limit.
var ErrTooBig = errors.New("message too big")

// readMessage validates a message file completely (magic, metadata, trailer,
// CRC) and returns its metadata and where the text lies.
func readMessage(path string) (meta *msgMeta, textOff, textLen int64, err error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, 0, 0, err
	}
	return parseMessage(data)
}

func parseMessage(data []byte) (meta *msgMeta, textOff, textLen int64, err error) {
	if len(data) < len(msgMagic)+trailerLen || !bytes.HasPrefix(data, []byte(msgMagic)) {
		return nil, 0, 0, fmt.Errorf("%w: short file or bad magic", errCorrupt)
	}
	end := len(data) - trailerLen
	var wantLen int64
	var wantCRC uint32
	if _, err := fmt.Sscanf(string(data[end:]), "\nEND %016x %08x\n", &wantLen, &wantCRC); err != nil {
		return nil, 0, 0, fmt.Errorf("%w: no trailer", errCorrupt)
	}
	if crc32.Checksum(data[:end], castagnoli) != wantCRC {
		return nil, 0, 0, fmt.Errorf("%w: checksum mismatch", errCorrupt)
	}
	nl := bytes.IndexByte(data[len(msgMagic):end], '\n')
	if nl < 0 {
		return nil, 0, 0, fmt.Errorf("%w: no metadata line", errCorrupt)
	}
	textOff = int64(len(msgMagic) + nl + 1)
	textLen = int64(end) - textOff
	if textLen != wantLen {
		return nil, 0, 0, fmt.Errorf("%w: length mismatch", errCorrupt)
	}
	meta = new(msgMeta)
	if err := json.Unmarshal(data[len(msgMagic):textOff-1], meta); err != nil {
		return nil, 0, 0, fmt.Errorf("%w: metadata: %v", errCorrupt, err)
	}
	if len(meta.Rcpts) == 0 {
		return nil, 0, 0, fmt.Errorf("%w: no recipients", errCorrupt)
	}
	return meta, textOff, textLen, nil
}
