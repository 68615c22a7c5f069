package localsubmit

import (
	"context"
	"crypto/rand"
	"encoding/base32"
	"errors"
	"fmt"
	"log/slog"
	"net/mail"
	"strconv"
	"strings"
	"time"

	"github.com/postern/postern/smtp"
	"github.com/postern/postern/smtp/queue"
)

// submit delivers one message and says what happened to each recipient. Temporarily
// failed recipients are kept in pickup for a retry, so the reply is final.
//
// With detached (a pickup file: the sendmail that wrote it has exited), recipients refused
// for good are bounced to the sender, as Postfix's pickup does, and a retry file older than
// [queue] lifetime gets one last try, after which its recipients still failing are bounced
// too.
func (ls *Server) submit(ctx context.Context, req *Request, uid uint32, raw smtp.Message, detached bool) Reply {
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
		return Reply{ID: id, Error: err.Error()}
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
			return Reply{ID: id, Error: err.Error(), Temporary: !isPermanent(err)}
		}
		rcpts = extracted
	}
	rcpts, failed := ls.recipients(append(append([]string(nil), req.Rcpts...), rcpts...))
	if len(rcpts) == 0 && len(failed) == 0 {
		return Reply{ID: id, Error: "no recipients: name them on the command line or use -t with To:, Cc: or Bcc:"}
	}
	if len(rcpts) > ls.maxRcpts {
		return Reply{ID: id, Error: fmt.Sprintf("%d recipients are more than the limit of %d (smtp.max_recipients)", len(rcpts), ls.maxRcpts)}
	}
	out := Reply{ID: id, Failed: failed}
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
	errs := ls.deliver.Deliver(ctx, env, msg)
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
func (ls *Server) bounceDetached(ctx context.Context, detached bool, id, sender string, arrival time.Time,
	msg smtp.Message, rcpts []queue.RcptInfo, log *slog.Logger) {
	if !detached || len(rcpts) == 0 {
		return
	}
	if sender == "" {
		log.Error("pickup: recipients refused; the null sender gets no bounce", "rcpts", len(rcpts))
		return
	}
	if err := ls.deliver.Bounce(ctx, id, sender, arrival, rcpts, msg); err != nil {
		log.Error("pickup: bounce to the sender failed", "to", sender, "err", err)
		return
	}
	log.Info("pickup: refused recipients bounced to the sender", "to", sender, "rcpts", len(rcpts))
}

// envelopeSender is -f, qualified, or the default sender.
func (ls *Server) envelopeSender(req *Request, login string) (string, error) {
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
func (ls *Server) recipients(in []string) ([]string, []RcptFailure) {
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
func (ls *Server) keepForRetry(sender string, rcpts []string, uid uint32, arrival time.Time, msg smtp.Message) error {
	rc, err := msg.Open()
	if err != nil {
		return err
	}
	defer rc.Close()
	req := Request{V: Version, Sender: &sender, Rcpts: rcpts, Size: msg.Size(), Prepared: true, UID: &uid,
		Arrival: arrival.Unix()}
	_, err = WritePickup(ls.pickupDir, &req, rc)
	return err
}
