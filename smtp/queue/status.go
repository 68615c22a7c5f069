package queue

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"hash/crc32"
	"io/fs"
	"os"
	"strconv"
	"time"

	"golang.org/x/sys/unix"
)

// The status file ID.status is an append-only log of records, one per line:
//
//	<8 hex digits: CRC-32C of the JSON> <JSON>\n
//
// A torn last line (the process died mid-write) fails its CRC; Open drops it
// and truncates the file to the last whole record, so later appends start on
// a clean line.
//
// The file is created with its first record (mark.go). Which records are
// fsynced, and why:
//   - "attempt" (written before Transport.Send is called, from the second
//     attempt on; the first is marked on the message file): not fsynced, as
//     scheduler.go says: a process crash leaves it in the page cache, so the
//     restarted queue knows the attempt happened and waits out the backoff
//     instead of retrying at once, again and again.
//   - "hold"/"release": fsynced; an operator expects them to stick.
//   - "rcpt", "notified", "warned": not fsynced. After kill -9 they are in
//     the page cache and survive; only a power loss can drop them, and then
//     the worst outcome is a recipient delivered or notified twice, which
//     RFC 5321 section 6.1 accepts over losing mail.
type record struct {
	Kind     string     `json:"k"`
	At       time.Time  `json:"at"`
	N        int        `json:"n,omitempty"`
	Rcpt     string     `json:"rcpt,omitempty"`
	Status   RcptStatus `json:"s,omitempty"`
	Code     int        `json:"code,omitempty"`
	Enhanced string     `json:"enh,omitempty"`
	Text     string     `json:"text,omitempty"`
	MTA      string     `json:"mta,omitempty"`
	Rcpts    []string   `json:"rcpts,omitempty"`
}

const (
	recAttempt  = "attempt"
	recRcpt     = "rcpt"
	recNotified = "notified"
	recWarned   = "warned"
	recHold     = "hold"
	recRelease  = "release"
)

func encodeRecords(recs []record) ([]byte, error) {
	var buf bytes.Buffer
	for i := range recs {
		js, err := json.Marshal(&recs[i])
		if err != nil {
			return nil, fmt.Errorf("queue: encode status: %w", err)
		}
		fmt.Fprintf(&buf, "%08x %s\n", crc32.Checksum(js, castagnoli), js)
	}
	return buf.Bytes(), nil
}

// appendRecords appends recs to the status file at path in one write,
// creating the file if needed. With syncDir the records are fdatasynced, and
// when this call created the file syncDir makes its directory entry durable
// too; without it nothing is synced.
func appendRecords(path string, recs []record, syncDir func() error) error {
	data, err := encodeRecords(recs)
	if err != nil {
		return err
	}
	f, created, err := openStatus(path, syncDir != nil)
	if err != nil {
		return fmt.Errorf("queue: open status: %w", err)
	}
	_, err = f.Write(data)
	if err == nil && syncDir != nil {
		err = unix.Fdatasync(int(f.Fd()))
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil && created {
		err = syncDir()
	}
	if err != nil {
		return fmt.Errorf("queue: append status %s: %w", path, err)
	}
	return nil
}

// openStatus opens the status file at path for appending, creating it. Only
// when asked (a synced record) does it tell whether it created the file,
// which costs a second open the first time.
func openStatus(path string, tell bool) (f *os.File, created bool, err error) {
	const flags = os.O_WRONLY | os.O_APPEND
	if !tell {
		f, err = os.OpenFile(path, flags|os.O_CREATE, 0o600)
		return f, false, err
	}
	f, err = os.OpenFile(path, flags, 0)
	if !errors.Is(err, fs.ErrNotExist) {
		return f, false, err
	}
	f, err = os.OpenFile(path, flags|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, fs.ErrExist) { // created meanwhile by another append
		f, err = os.OpenFile(path, flags, 0)
		return f, false, err
	}
	return f, err == nil, err
}

// parseStatus decodes records up to the first damaged line and returns how
// many bytes were good.
func parseStatus(data []byte) (recs []record, good int) {
	for good < len(data) {
		nl := bytes.IndexByte(data[good:], '\n')
		if nl < 0 {
			break
		}
		line := data[good : good+nl]
		if len(line) < 10 || line[8] != ' ' {
			break
		}
		want, err := strconv.ParseUint(string(line[:8]), 16, 32)
		if err != nil || crc32.Checksum(line[9:], castagnoli) != uint32(want) {
			break
		}
		var r record
		if err := json.Unmarshal(line[9:], &r); err != nil {
			break
		}
		recs = append(recs, r)
		good += nl + 1
	}
	return recs, good
}
