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
	login := ls.loginOf(uid)
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
			Trace:             traceHeader(ls.hostname, uid, id, forRecipient(req, ls.hostname), now),
			Received:          now,
			ExtractRecipients: req.ExtractRecipients,
			MaxHeaderBytes:    min(ls.maxSize, 1<<20),
		})
		if err != nil {
			return Reply{ID: id, Error: err.Error(), Temporary: !isPermanent(err)}
		}
		rcpts = extracted
	}
	// Bounded before the rewrite, which looks each one up.
	all := uniq(append(append([]string(nil), req.Rcpts...), rcpts...))
	if len(all) > ls.maxRcpts {
		return Reply{ID: id, Error: fmt.Sprintf("%d recipients are more than the limit of %d (smtp.max_recipients)", len(all), ls.maxRcpts)}
	}
	rcpts, failed, waiting := ls.recipients(ctx, all, log)
	if len(rcpts) == 0 && len(failed) == 0 && len(waiting) == 0 {
		return Reply{ID: id, Error: "no recipients: name them on the command line or use -t with To:, Cc: or Bcc:"}
	}
	out := Reply{ID: id, Failed: failed}
	// bounced is what a DSN says of out.Failed, with the codes the reason text lost.
	var bounced []queue.RcptInfo
	for _, f := range failed {
		bounced = append(bounced, queue.RcptInfo{Addr: f.Rcpt, Status: queue.StatusFailed, Enhanced: "5.1.3", LastError: f.Reason})
	}
	// retry are the recipients kept in pickup for another try: those the rewrite could
	// not place yet (no owner), and below those delivery failed temporarily.
	var retry []string
	for _, w := range waiting {
		retry = ls.deferOrGiveUp(w.rcpt, w.err, expired, retry, &out, &bounced)
	}
	if len(rcpts) == 0 {
		ls.finish(ctx, detached, id, sender, uid, arrival, msg, retry, bounced, &out, log)
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
		LocalUID:   &uid,
	}
	log.Info("local submission", "from", sender, "rcpts", len(rcpts), "size", msg.Size(), "pickup", req.Prepared)
	errs := ls.deliver.Deliver(ctx, env, msg)
	for i, rcpt := range rcpts {
		switch e := errs[i]; {
		case e == nil:
			out.Accepted = append(out.Accepted, rcpt)
		case isPermanent(e):
			out.Failed = append(out.Failed, RcptFailure{Rcpt: rcpt, Reason: e.Error()})
			bounced = append(bounced, rcptInfo(rcpt, e, ""))
		default:
			retry = ls.deferOrGiveUp(rcpt, e, expired, retry, &out, &bounced)
		}
	}
	ls.finish(ctx, detached, id, sender, uid, arrival, msg, retry, bounced, &out, log)
	return out
}

// deferOrGiveUp adds a temporarily failed recipient to retry, or, once its retries
// are past [queue] lifetime, to the failures.
func (ls *Server) deferOrGiveUp(rcpt string, err error, expired bool, retry []string, out *Reply, bounced *[]queue.RcptInfo) []string {
	if !expired {
		out.Deferred = append(out.Deferred, RcptFailure{Rcpt: rcpt, Reason: err.Error()})
		return append(retry, rcpt)
	}
	why := fmt.Sprintf("given up after %v of retries (queue.lifetime)", ls.lifetime)
	out.Failed = append(out.Failed, RcptFailure{Rcpt: rcpt, Reason: err.Error() + "; " + why})
	*bounced = append(*bounced, rcptInfo(rcpt, err, why))
	return retry
}

// finish keeps the recipients to retry in pickup, logs the refusals and bounces them
// when nobody waits for the reply.
func (ls *Server) finish(ctx context.Context, detached bool, id, sender string, uid uint32, arrival time.Time,
	msg smtp.Message, retry []string, bounced []queue.RcptInfo, out *Reply, log *slog.Logger) {
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
	// A service's default sender is a name of the machine (nut@HOSTNAME): its bounce
	// goes where mail to that name goes.
	to, err := ls.rewrite.rewrite(ctx, sender)
	if err != nil {
		log.Error("pickup: recipients refused, and the sender cannot be reached for a bounce", "to", sender, "err", err)
		return
	}
	if err := ls.deliver.Bounce(ctx, id, to, arrival, rcpts, msg); err != nil {
		log.Error("pickup: bounce to the sender failed", "to", to, "err", err)
		return
	}
	log.Info("pickup: refused recipients bounced to the sender", "to", to, "sender", sender, "rcpts", len(rcpts))
}

// loginOf is uid's login name, or "uidN" for a uid the user database does not know.
func (ls *Server) loginOf(uid uint32) string {
	if login := ls.userName(uid); login != "" {
		return login
	}
	return "uid" + strconv.FormatUint(uint64(uid), 10)
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

// waitingRcpt is a recipient the rewrite could not place yet (no owner, a failed
// lookup): kept, as given, for a retry.
type waitingRcpt struct {
	rcpt string
	err  error
}

// recipients qualifies, rewrites (rewrite.go) and deduplicates: an address that does
// not parse fails, one that cannot be placed yet waits.
func (ls *Server) recipients(ctx context.Context, in []string, log *slog.Logger) ([]string, []RcptFailure, []waitingRcpt) {
	var out []string
	var failed []RcptFailure
	var waiting []waitingRcpt
	seen := map[string]bool{}
	for _, r := range in {
		q, a, err := ls.rewrite.place(ctx, r)
		switch {
		case err != nil && !isPermanent(err) && isReply(err):
			log.Warn("local submission: recipient waits", "rcpt", q, "reason", err.Error())
			waiting = append(waiting, waitingRcpt{rcpt: q, err: err})
			continue
		case err != nil:
			failed = append(failed, RcptFailure{Rcpt: r, Reason: err.Error()})
			continue
		}
		if q != a {
			log.Info("local submission: recipient rewritten", "rcpt", q, "to", a)
		}
		if !seen[a] {
			seen[a] = true
			out = append(out, a)
		}
	}
	return out, failed, waiting
}

// uniq drops repeated strings, keeping the first of each.
func uniq(in []string) []string {
	seen := make(map[string]bool, len(in))
	out := in[:0]
	for _, s := range in {
		if !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	return out
}

// isReply is true for an SMTP reply (the rewrite's 4xx), false for an address error.
func isReply(err error) bool {
	var re *smtp.ReplyError
	return errors.As(err, &re)
}

// isPermanent is true for 5xx replies: the same message would fail again.
func isPermanent(err error) bool {
	var re *smtp.ReplyError
	return errors.As(err, &re) && !re.Temporary()
}

// traceHeader is our Received line, naming the caller's uid like Postfix's pickup does
// (RFC 5321 section 4.4 allows the "from" clause to be left out for local mail).
// With a single recipient named on the command line, the line says "for <it>" as it
// was given (qualified, before the rewrite), so that the owner sees that the message
// was for root or nut; with several, none is named, so that no recipient learns of the
// others (Postfix's rule).
func traceHeader(hostname string, uid uint32, id, rcpt string, now time.Time) string {
	var b strings.Builder
	fmt.Fprintf(&b, "Received: by %s (Postern, from userid %d)\r\n\tid %s", hostname, uid, id)
	if rcpt != "" {
		fmt.Fprintf(&b, "\r\n\tfor <%s>", rcpt)
	}
	fmt.Fprintf(&b, "; %s\r\n", now.Format("Mon, 2 Jan 2006 15:04:05 -0700"))
	return b.String()
}

// forRecipient is the recipient a Received line may name: the only one, given on the
// command line (not with -t, whose Bcc: must stay hidden), qualified; "" otherwise.
func forRecipient(req *Request, hostname string) string {
	if req.ExtractRecipients || len(req.Rcpts) != 1 {
		return ""
	}
	a, err := smtp.QualifyAddress(req.Rcpts[0], hostname)
	if err != nil || strings.ContainsAny(a, "\r\n<>") {
		return ""
	}
	return a
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
