package admin

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
)

// ProtocolVersion is the version this package speaks, sent as "v" in every envelope.
const ProtocolVersion = 1

// MaxRequestSize bounds one request line (including its newline). Admin requests are small
// (an address, a password, a list of alias targets); the bound keeps a misbehaving peer
// from making the daemon buffer without limit.
const MaxRequestSize = 64 << 10

// maxResponseSize bounds what the client accepts: listings of many users can be large,
// but not unboundedly so.
const maxResponseSize = 64 << 20

// Request is one line from the client.
type Request struct {
	V    int             `json:"v"`
	Cmd  string          `json:"cmd"`
	Args json.RawMessage `json:"args,omitempty"`
}

// Response is one line from the daemon: Result when OK, Error otherwise.
type Response struct {
	V      int             `json:"v"`
	OK     bool            `json:"ok"`
	Result json.RawMessage `json:"result,omitempty"`
	Error  *Error          `json:"error,omitempty"`
}

// errLineTooLong is returned by readLine when a line exceeds its limit.
var errLineTooLong = errors.New("line too long")

// readLine reads one '\n'-terminated line of at most limit bytes (newline included) and
// returns it without the newline. A final line without newline is returned at EOF.
func readLine(r *bufio.Reader, limit int) ([]byte, error) {
	var line []byte
	for {
		chunk, err := r.ReadSlice('\n')
		if len(line)+len(chunk) > limit {
			return nil, errLineTooLong
		}
		line = append(line, chunk...)
		switch {
		case err == nil:
			return bytes.TrimSuffix(line[:len(line)-1], []byte("\r")), nil
		case errors.Is(err, bufio.ErrBufferFull):
			continue
		case errors.Is(err, io.EOF) && len(line) > 0:
			return line, nil
		default:
			return nil, err
		}
	}
}

// DecodeRequest parses one request line. The version is checked by the caller, after
// decoding, so that a client of another version gets a versioned answer rather than a
// parse error; unknown envelope fields are refused so typos do not pass silently.
func DecodeRequest(line []byte) (Request, error) {
	var req Request
	dec := json.NewDecoder(bytes.NewReader(line))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		return Request{}, fmt.Errorf("malformed request: %w", err)
	}
	if dec.More() {
		return Request{}, errors.New("malformed request: trailing data after the JSON object")
	}
	if req.Cmd == "" {
		return Request{}, errors.New(`malformed request: missing "cmd"`)
	}
	return req, nil
}

// decodeArgs unmarshals a command's arguments strictly into dst. Absent args decode as
// the zero value, which each handler then validates.
func decodeArgs(raw json.RawMessage, dst any) error {
	if len(raw) == 0 || string(raw) == "null" {
		return nil
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(dst); err != nil {
		return Errorf(CodeBadRequest, "", "bad arguments: %v", err)
	}
	return nil
}
