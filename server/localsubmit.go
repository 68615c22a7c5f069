package server

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/base32"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/mail"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/postern/postern/smtp"
	"github.com/postern/postern/smtp/queue"
)

// Local submission: how `postern sendmail` hands a message to the daemon.
//
// The socket (config [admin] submit_socket, mode 0666) is the authorisation: any local
// user may send, as Postfix's sendmail lets any user send. The caller's uid comes from
// the kernel (SO_PEERCRED), is logged, and goes into a Received line the way Postfix
// writes it: "Received: by HOST (Postern, from userid 1000) id ID; DATE".
//
// The protocol, one message per connection:
//
//	client: one JSON line, a LocalSubmission (at most MaxLocalSubmissionLine octets),
//	        then exactly Size octets of message text (LF or CRLF line ends)
//	server: one JSON line, a LocalSubmitReply, sent only after every recipient's copy is
//	        on disk (delivered to a Maildir, in the outbound queue, or kept in pickup
//	        for a retry)
//
// A pickup file (state_dir/pickup, written by sendmail while the daemon is down) has
// the same bytes: the JSON line, then the message.

// LocalSubmitVersion is the protocol version, the "v" of both lines.
const LocalSubmitVersion = 1

// MaxLocalSubmissionLine bounds the JSON line (recipients included).
const MaxLocalSubmissionLine = 256 << 10

// LocalSubmission is the request line: what sendmail's flags said.
type LocalSubmission struct {
	V int `json:"v"`
	// Sender is -f: the envelope sender; "" or "<>" is the null sender. nil: the
	// default ([smtp] local_sender, else the caller's login name at hostname).
	Sender *string `json:"sender,omitempty"`
	// FullName is -F: the display name of a From: that sendmail adds.
	FullName string `json:"full_name,omitempty"`
	// Rcpts are the recipients on the command line; a bare name gets @hostname.
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

// LocalSubmitReply is the answer line.
type LocalSubmitReply struct {
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
}

// RcptFailure is one recipient that was not accepted, and why.
type RcptFailure struct {
	Rcpt   string `json:"rcpt"`
	Reason string `json:"reason"`
}

// localSubmitTimeout bounds one connection: sendmail has the whole message before it
// connects, so it sends without pauses.
const localSubmitTimeout = 5 * time.Minute

// localDeliverer is what local submission needs of the delivery agent: delivery, and
// bounces for the pickup directory, where no caller waits to be told of a refusal.
type localDeliverer interface {
	Deliver(ctx context.Context, env *smtp.Envelope, msg smtp.Message) []error
	Bounce(ctx context.Context, id, sender string, arrival time.Time, failed []queue.RcptInfo, msg smtp.Message) error
}

// localSubmit takes messages from the submission socket and the pickup directory.
type localSubmit struct {
	agent       localDeliverer
	hostname    string
	localSender string // [smtp] local_sender; "" = login@hostname
	maxSize     int64
	maxRcpts    int
	lifetime    time.Duration // [queue] lifetime: how long a deferred pickup retry is tried
	pickupDir   string
	spoolDir    string
	log         *slog.Logger
	now         func() time.Time
	// userName maps a uid to a login name; "" when unknown.
	userName func(uid uint32) string
}

// loginName looks a uid up in the user database.
func loginName(uid uint32) string {
	u, err := user.LookupId(strconv.FormatUint(uint64(uid), 10))
	if err != nil {
		return ""
	}
	return u.Username
}

// serveConn answers one client of the submission socket.
func (ls *localSubmit) serveConn(ctx context.Context, c net.Conn, uid uint32, pid int32) {
	defer c.Close()
	c.SetDeadline(time.Now().Add(localSubmitTimeout))
	log := ls.log.With("uid", uid, "pid", pid)
	br := bufio.NewReader(c)
	reply := func(r LocalSubmitReply) {
		r.V = LocalSubmitVersion
		b, _ := json.Marshal(r)
		if _, err := c.Write(append(b, '\n')); err != nil {
			log.Warn("sendmail went away before the reply", "id", r.ID, "err", err)
		}
	}
	req, err := readLocalSubmission(br)
	if err != nil {
		log.Warn("local submission refused", "err", err)
		reply(LocalSubmitReply{Error: err.Error()})
		return
	}
	if req.Prepared || req.UID != nil {
		reply(LocalSubmitReply{Error: "prepared and uid are for the daemon's own pickup files"})
		return
	}
	if req.Size > ls.maxSize {
		reply(LocalSubmitReply{Error: fmt.Sprintf("message of %d bytes is larger than the limit of %d bytes (smtp.message_size_limit)", req.Size, ls.maxSize)})
		return
	}
	msg, err := ls.spool(io.LimitReader(br, req.Size), req.Size)
	if err != nil {
		log.Warn("local submission: reading the message failed", "err", err)
		reply(LocalSubmitReply{Error: err.Error(), Temporary: true})
		return
	}
	defer msg.remove()
	reply(ls.submit(ctx, req, uid, msg, false))
}

// readLocalSubmission reads and checks the request line.
func readLocalSubmission(br *bufio.Reader) (*LocalSubmission, error) {
	line, err := readBoundedLine(br, MaxLocalSubmissionLine)
	if err != nil {
		return nil, err
	}
	var req LocalSubmission
	dec := json.NewDecoder(strings.NewReader(line))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		return nil, fmt.Errorf("malformed request: %w", err)
	}
	if req.V != LocalSubmitVersion {
		return nil, fmt.Errorf("protocol version %d is not %d: use the postern command of the running daemon's release", req.V, LocalSubmitVersion)
	}
	if req.Size < 0 {
		return nil, errors.New("malformed request: negative size")
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
func (ls *localSubmit) spool(r io.Reader, size int64) (*spooledMessage, error) {
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

// crlfWriter writes through w with every bare LF made CRLF.
type crlfWriter struct {
	w    *bufio.Writer
	n    int64 // octets written to w
	last byte  // the last octet written
}

func (c *crlfWriter) Write(p []byte) (int, error) {
	for _, b := range p {
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
	if c.n > 0 && c.last != '\n' {
		if _, err := c.Write([]byte("\r\n")); err != nil {
			return err
		}
	}
	return c.w.Flush()
}

// submit delivers one message and says what happened to each recipient. Temporarily
// failed recipients are kept in pickup for a retry, so the reply is final.
//
// With detached (a pickup file: the sendmail that wrote it has exited), recipients refused
// for good are bounced to the sender, as Postfix's pickup does, and a retry file older than
// [queue] lifetime gets one last try, after which its recipients still failing are bounced
// too.
func (ls *localSubmit) submit(ctx context.Context, req *LocalSubmission, uid uint32, raw smtp.Message, detached bool) LocalSubmitReply {
	now := ls.now()
	arrival := now
	if req.Prepared && req.Arrival > 0 {
		arrival = time.Unix(req.Arrival, 0)
	}
	expired := detached && req.Prepared && ls.lifetime > 0 && now.Sub(arrival) >= ls.lifetime
	id := newLocalID()
	login := ls.userName(uid)
	if login == "" {
		login = "uid" + strconv.FormatUint(uint64(uid), 10)
	}
	log := ls.log.With("id", id, "uid", uid, "user", login)
	sender, err := ls.envelopeSender(req, login)
	if err != nil {
		return LocalSubmitReply{ID: id, Error: err.Error()}
	}
	msg, rcpts := raw, []string(nil)
	if !req.Prepared {
		fromAddr := sender
		if fromAddr == "" {
			fromAddr = login + "@" + ls.hostname
		}
		var extracted []string
		msg, extracted, err = smtp.PrepareLocal(raw, smtp.LocalHeaderOptions{
			Hostname:          ls.hostname,
			From:              (&mail.Address{Name: req.FullName, Address: fromAddr}).String(),
			Trace:             traceHeader(ls.hostname, uid, id, now),
			Received:          now,
			ExtractRecipients: req.ExtractRecipients,
			MaxHeaderBytes:    min(ls.maxSize, 1<<20),
		})
		if err != nil {
			return LocalSubmitReply{ID: id, Error: err.Error(), Temporary: !isPermanent(err)}
		}
		rcpts = extracted
	}
	rcpts, failed := ls.recipients(append(append([]string(nil), req.Rcpts...), rcpts...))
	if len(rcpts) == 0 && len(failed) == 0 {
		return LocalSubmitReply{ID: id, Error: "no recipients: name them on the command line or use -t with To:, Cc: or Bcc:"}
	}
	if len(rcpts) > ls.maxRcpts {
		return LocalSubmitReply{ID: id, Error: fmt.Sprintf("%d recipients are more than the limit of %d (smtp.max_recipients)", len(rcpts), ls.maxRcpts)}
	}
	out := LocalSubmitReply{ID: id, Failed: failed}
	// bounced is what a DSN says of out.Failed, with the codes the reason text lost.
	var bounced []queue.RcptInfo
	for _, f := range failed {
		bounced = append(bounced, queue.RcptInfo{Addr: f.Rcpt, Status: queue.StatusFailed, Enhanced: "5.1.3", LastError: f.Reason})
	}
	if len(rcpts) == 0 {
		ls.bounceDetached(ctx, detached, id, sender, arrival, msg, bounced, log)
		return out
	}
	env := &smtp.Envelope{
		ID: id,
		Session: &smtp.Session{ID: "sendmail-" + id, Role: smtp.RoleSubmission, Trusted: true,
			HELO: "localhost", Hostname: ls.hostname, Start: now},
		From:       sender,
		Recipients: rcpts,
		Received:   arrival,
		OwnReports: true, // the reply, or for pickup files bounceDetached
	}
	log.Info("local submission", "from", sender, "rcpts", len(rcpts), "size", msg.Size(), "pickup", req.Prepared)
	errs := ls.agent.Deliver(ctx, env, msg)
	var retry []string
	for i, rcpt := range rcpts {
		switch e := errs[i]; {
		case e == nil:
			out.Accepted = append(out.Accepted, rcpt)
		case isPermanent(e):
			out.Failed = append(out.Failed, RcptFailure{Rcpt: rcpt, Reason: e.Error()})
			bounced = append(bounced, rcptInfo(rcpt, e, ""))
		case expired:
			why := fmt.Sprintf("given up after %v of retries (queue.lifetime)", ls.lifetime)
			out.Failed = append(out.Failed, RcptFailure{Rcpt: rcpt, Reason: e.Error() + "; " + why})
			bounced = append(bounced, rcptInfo(rcpt, e, why))
		default:
			retry = append(retry, rcpt)
			out.Deferred = append(out.Deferred, RcptFailure{Rcpt: rcpt, Reason: e.Error()})
		}
	}
	if len(retry) > 0 {
		if err := ls.keepForRetry(sender, retry, uid, arrival, msg); err != nil {
			log.Error("cannot keep deferred local submission in pickup", "to", retry, "err", err)
			for _, d := range out.Deferred {
				out.Failed = append(out.Failed, RcptFailure{Rcpt: d.Rcpt, Reason: d.Reason + "; and keeping it for a retry failed: " + err.Error()})
			}
			out.Deferred = nil
		} else {
			log.Warn("local submission deferred; kept in pickup for a retry", "to", retry)
		}
	}
	for _, f := range out.Failed {
		log.Warn("local submission refused", "from", sender, "to", f.Rcpt, "reason", f.Reason)
	}
	ls.bounceDetached(ctx, detached, id, sender, arrival, msg, bounced, log)
	return out
}

// rcptInfo is a failed recipient for a DSN; why, if set, is an expiry after temporary
// failures (enhanced code 4.4.7, as the queue reports it).
func rcptInfo(rcpt string, err error, why string) queue.RcptInfo {
	r := queue.RcptInfo{Addr: rcpt, Status: queue.StatusFailed, LastError: err.Error()}
	var re *smtp.ReplyError
	if errors.As(err, &re) {
		r.Code, r.Enhanced, r.LastError = re.Code, re.EnhancedString(), re.Message
	}
	if why != "" {
		r.Enhanced, r.LastError = "4.4.7", r.LastError+"; "+why
	}
	return r
}

// bounceDetached sends the sender a DSN for the failed recipients of a pickup file; a
// caller on the socket is told in the reply instead, and the null sender gets nothing.
func (ls *localSubmit) bounceDetached(ctx context.Context, detached bool, id, sender string, arrival time.Time,
	msg smtp.Message, rcpts []queue.RcptInfo, log *slog.Logger) {
	if !detached || len(rcpts) == 0 {
		return
	}
	if sender == "" {
		log.Error("pickup: recipients refused; the null sender gets no bounce", "rcpts", len(rcpts))
		return
	}
	if err := ls.agent.Bounce(ctx, id, sender, arrival, rcpts, msg); err != nil {
		log.Error("pickup: bounce to the sender failed", "to", sender, "err", err)
		return
	}
	log.Info("pickup: refused recipients bounced to the sender", "to", sender, "rcpts", len(rcpts))
}

// envelopeSender is -f, qualified, or the default sender.
func (ls *localSubmit) envelopeSender(req *LocalSubmission, login string) (string, error) {
	if req.Sender == nil {
		if ls.localSender != "" {
			return ls.localSender, nil
		}
		return smtp.QualifyAddress(login, ls.hostname)
	}
	s := strings.TrimSpace(*req.Sender)
	if s == "" || s == "<>" {
		return "", nil
	}
	a, err := smtp.QualifyAddress(s, ls.hostname)
	if err != nil {
		return "", fmt.Errorf("sender %q: %w", s, err)
	}
	return a, nil
}

// recipients qualifies and deduplicates; an address that does not parse fails.
func (ls *localSubmit) recipients(in []string) ([]string, []RcptFailure) {
	var out []string
	var failed []RcptFailure
	seen := map[string]bool{}
	for _, r := range in {
		a, err := smtp.QualifyAddress(r, ls.hostname)
		if err != nil {
			failed = append(failed, RcptFailure{Rcpt: r, Reason: err.Error()})
			continue
		}
		if !seen[a] {
			seen[a] = true
			out = append(out, a)
		}
	}
	return out, failed
}

// isPermanent is true for 5xx replies: the same message would fail again.
func isPermanent(err error) bool {
	var re *smtp.ReplyError
	return errors.As(err, &re) && !re.Temporary()
}

// traceHeader is our Received line, naming the caller's uid like Postfix's pickup does
// (RFC 5321 section 4.4 allows the "from" clause to be left out for local mail).
func traceHeader(hostname string, uid uint32, id string, now time.Time) string {
	return fmt.Sprintf("Received: by %s (Postern, from userid %d)\r\n\tid %s; %s\r\n",
		hostname, uid, id, now.Format("Mon, 2 Jan 2006 15:04:05 -0700"))
}

// newLocalID is a queue-id-like name for a local submission.
func newLocalID() string {
	var b [8]byte
	rand.Read(b[:])
	return "L" + base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(b[:])
}

// keepForRetry writes a prepared pickup file for recipients that failed temporarily.
func (ls *localSubmit) keepForRetry(sender string, rcpts []string, uid uint32, arrival time.Time, msg smtp.Message) error {
	rc, err := msg.Open()
	if err != nil {
		return err
	}
	defer rc.Close()
	req := LocalSubmission{V: LocalSubmitVersion, Sender: &sender, Rcpts: rcpts, Size: msg.Size(), Prepared: true, UID: &uid,
		Arrival: arrival.Unix()}
	_, err = WritePickup(ls.pickupDir, &req, rc)
	return err
}

// pickupName is the final name of a pickup file: time first, so that a directory
// listing is in arrival order.
func pickupName(now time.Time) string {
	var b [6]byte
	rand.Read(b[:])
	return fmt.Sprintf("%016x-%x", now.UnixNano(), b)
}

// pickupPath joins dir and a pickup name.
func pickupPath(dir string, now time.Time) string { return filepath.Join(dir, pickupName(now)) }
