package localsubmit

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/postern/postern/smtp/queue"
)

// Version is the protocol version, the "v" of both lines.
const Version = 1

// MaxRequestLine bounds the JSON line (recipients included).
const MaxRequestLine = 256 << 10

// connTimeout bounds one connection: sendmail has the whole message before it connects,
// so it sends without pauses.
const connTimeout = 5 * time.Minute

// What a request asks (Request.Op).
const (
	// OpSubmit (the zero value, what every older sendmail sends) submits a message.
	OpSubmit = ""
	// OpList is mailq run by a user who may not use the admin socket: the caller's own
	// messages, in the queue and waiting in pickup or the maildrop (Reply.Queue). Size
	// is 0 and no message follows.
	OpList = "list"
	// OpVerify is sendmail -bv: how each of Rcpts would be delivered (Reply.Verified),
	// sending nothing. Size is 0 and no message follows.
	OpVerify = "verify"
)

// MaxListed bounds the entries of one OpList reply; Reply.More counts the rest.
const MaxListed = 2000

// maxReplyLine bounds the reply line the client reads (a full OpList reply).
const maxReplyLine = 16 << 20

// Request is the request line: what sendmail's flags said.
type Request struct {
	V int `json:"v"`
	// Op is what is asked: OpSubmit, OpList or OpVerify.
	Op string `json:"op,omitempty"`
	// Sender is -f: the envelope sender; "" or "<>" is the null sender. nil: the
	// default ([smtp] local_sender, else the caller's login name at hostname).
	Sender *string `json:"sender,omitempty"`
	// FullName is -F: the display name of a From: that sendmail adds.
	FullName string `json:"full_name,omitempty"`
	// Rcpts are the recipients on the command line; a bare name gets @hostname, and
	// the daemon places the machine's names (rewrite.go).
	Rcpts []string `json:"rcpts,omitempty"`
	// ExtractRecipients is -t: recipients also from To:, Cc: and Bcc:; Bcc: is removed.
	ExtractRecipients bool `json:"extract_recipients,omitempty"`
	// Size is the length of the message text that follows.
	Size int64 `json:"size"`

	// Prepared, UID and Arrival are set only in pickup files the daemon writes itself,
	// to retry recipients whose delivery failed temporarily: the header is already
	// fixed, the uid is the original caller's, and Arrival (Unix seconds) is when the
	// message first came, from which the retries give up after [queue] lifetime.
	Prepared bool    `json:"prepared,omitempty"`
	UID      *uint32 `json:"uid,omitempty"`
	Arrival  int64   `json:"arrival,omitempty"`
}

// Reply is the answer line.
type Reply struct {
	V  int    `json:"v"`
	ID string `json:"id,omitempty"`
	// Accepted recipients were delivered to a local mailbox or put in the outbound queue.
	Accepted []string `json:"accepted,omitempty"`
	// Deferred recipients failed temporarily; the daemon kept the message in pickup and
	// tries again.
	Deferred []RcptFailure `json:"deferred,omitempty"`
	// Failed recipients were refused for good (an unknown local user, a bad address).
	Failed []RcptFailure `json:"failed,omitempty"`
	// Error refuses the whole message; Temporary says nothing was kept and the client
	// should keep it (in pickup) and let the daemon try later.
	Error     string `json:"error,omitempty"`
	Temporary bool   `json:"temporary,omitempty"`

	// Queue answers OpList: the caller's messages, oldest first, at most MaxListed;
	// More is how many more there are.
	Queue []queue.Info `json:"queue,omitempty"`
	More  int          `json:"more,omitempty"`
	// Verified answers OpVerify: one verdict per recipient, in order.
	Verified []Verdict `json:"verified,omitempty"`
}

// Verdict is how one recipient would be delivered (sendmail -bv).
type Verdict struct {
	Rcpt        string `json:"rcpt"`
	Deliverable bool   `json:"deliverable"`
	// How says it in words: "deliverable: local mailbox alice@example.com", "...:
	// relayed via smart host smtp.example.net:587 [relay]", or "undeliverable: " and why.
	How string `json:"how"`
	// Temporary: it could not be verified now (a failed lookup); ask again later.
	Temporary bool `json:"temporary,omitempty"`
}

// RcptFailure is one recipient that was not accepted, and why.
type RcptFailure struct {
	Rcpt   string `json:"rcpt"`
	Reason string `json:"reason"`
}

// readRequest reads and checks the request line.
func readRequest(br *bufio.Reader) (*Request, error) {
	line, err := readBoundedLine(br, MaxRequestLine)
	if err != nil {
		return nil, err
	}
	var req Request
	dec := json.NewDecoder(strings.NewReader(line))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		return nil, fmt.Errorf("malformed request: %w", err)
	}
	if req.V != Version {
		return nil, fmt.Errorf("protocol version %d is not %d: use the postern command of the running daemon's release", req.V, Version)
	}
	if req.Size < 0 {
		return nil, errors.New("malformed request: negative size")
	}
	switch req.Op {
	case OpSubmit:
	case OpList, OpVerify:
		if req.Size != 0 {
			return nil, fmt.Errorf("malformed request: %s carries no message", req.Op)
		}
	default:
		return nil, fmt.Errorf("malformed request: unknown op %q", req.Op)
	}
	return &req, nil
}

// readBoundedLine reads one LF-terminated line of at most limit octets.
func readBoundedLine(br *bufio.Reader, limit int) (string, error) {
	var b []byte
	for {
		chunk, err := br.ReadSlice('\n')
		if len(b)+len(chunk) > limit {
			return "", fmt.Errorf("request line longer than %d bytes", limit)
		}
		b = append(b, chunk...)
		switch {
		case err == nil:
			return strings.TrimRight(string(b), "\r\n"), nil
		case errors.Is(err, bufio.ErrBufferFull):
			continue
		default:
			return "", fmt.Errorf("reading request: %w", err)
		}
	}
}
