package queue

import (
	"context"
	"fmt"
	"github.com/postern/postern/event"
	"log/slog"
	"os"
	"strings"
	"time"
)

// Run is the scheduler: it starts a delivery attempt for every message whose
// time has come, at most MaxConcurrency at once, and sleeps until the next
// one is due or something changes (Enqueue, Flush, Release, an attempt
// ending). It returns when ctx is done, after the running attempts (whose
// contexts derive from ctx) have ended. Call it once. The DSNs of failed and delayed
// recipients go to b (nil: failures are only logged); it is an argument here rather than
// an Option because the bouncer usually enqueues its own mail, so it exists only after
// the queue.
func (q *Queue) Run(ctx context.Context, b Bouncer) error {
	q.bouncer = b // before any attempt starts; only the attempts read it
	for {
		wait := q.startDue(ctx)
		var timer Timer
		var timerC <-chan time.Time
		if wait >= 0 {
			timer = q.opts.Clock.NewTimer(wait)
			timerC = timer.C()
		}
		select {
		case <-ctx.Done():
			q.running.Wait()
			return nil
		case <-q.wake:
		case <-timerC:
		}
		if timer != nil {
			timer.Stop()
		}
	}
}

// startDue launches attempts for due entries while slots are free. It
// returns how long until the next entry is due, or -1 if nothing waits (or
// every slot is busy: an ending attempt pokes the scheduler).
func (q *Queue) startDue(ctx context.Context) time.Duration {
	q.mu.Lock()
	defer q.mu.Unlock()
	for {
		e := q.due.peek()
		if e == nil || q.active >= q.opts.MaxConcurrency {
			return -1
		}
		now := q.opts.Clock.Now()
		if e.next.After(now) {
			return e.next.Sub(now)
		}
		q.due.remove(e)
		e.active = true
		q.active++
		q.running.Add(1)
		go q.attempt(ctx, e)
	}
}

// attempt makes one delivery attempt. The attempt record is on disk before
// the Transport is called, so a crash during delivery is followed by the
// normal backoff, not an immediate retry (and never by a hot loop).
func (q *Queue) attempt(ctx context.Context, e *entry) {
	defer q.running.Done()
	q.mu.Lock()
	n := e.attempts + 1
	rcpts := e.pending()
	q.mu.Unlock()
	start := q.opts.Clock.Now()
	log := q.log.With(slog.String("id", e.id))

	// The attempt is marked, not fsynced: the mark is there to stop a message that
	// crashes the process from being retried in a hot loop, and a process crash leaves
	// the page cache intact. Only a power cut can lose it, and that is not caused by the
	// message; the cost is one early retry.
	marked, err := q.markAttempt(e, n, start)
	if err != nil {
		log.Error("cannot record attempt, not attempting", slog.Any("error", err))
		q.requeue(e, start.Add(q.opts.MinBackoff))
		return
	}
	q.mu.Lock()
	e.attempts, e.lastAttempt = n, start.UTC()
	q.mu.Unlock()

	var results []Result
	if len(rcpts) > 0 {
		var err error
		results, err = q.deliver(ctx, e, n, rcpts)
		if err != nil {
			log.Error("cannot open message", slog.Any("error", err))
			results = failAll(rcpts, true, 0, "", "queue: "+err.Error())
		}
	}
	q.record(ctx, e, rcpts, results, start, marked)
}

func (q *Queue) deliver(ctx context.Context, e *entry, n int, rcpts []string) ([]Result, error) {
	f, err := os.Open(q.msgPath(e.id))
	if err != nil {
		return nil, err
	}
	defer f.Close()
	msg := &Message{
		ID: e.id, From: e.meta.From, Rcpts: e.meta.Rcpts, Arrival: e.meta.Arrival,
		Size: e.textLen, Attempt: n, Origin: e.meta.Origin, file: f, off: e.textOff,
	}
	actx, cancel := context.WithTimeout(ctx, q.opts.AttemptTimeout)
	defer cancel()
	return q.opts.Transport.Send(actx, msg, rcpts), nil
}

func failAll(rcpts []string, temp bool, code int, enh, text string) []Result {
	out := make([]Result, len(rcpts))
	for i, r := range rcpts {
		out[i] = Result{Rcpt: r, Temporary: temp, Code: code, Enhanced: enh, Text: text}
	}
	return out
}

// record applies the results, logs one line per recipient, bounces what
// failed, and removes or reschedules the message. A message finished by a
// first attempt that was marked on its file (marked) is removed without a
// status file; otherwise the results go to the status file, after the record
// of a marked attempt, so that the file tells every attempt.
func (q *Queue) record(ctx context.Context, e *entry, rcpts []string, results []Result, start time.Time, marked bool) {
	byRcpt := make(map[string]Result, len(results))
	for _, r := range results {
		byRcpt[r.Rcpt] = r
	}
	now := q.opts.Clock.Now()
	q.mu.Lock()
	retry := retryNote{attempt: e.attempts, next: e.lastAttempt.Add(q.backoff(e.attempts))}
	q.mu.Unlock()
	if now.Sub(e.meta.Arrival) >= q.opts.Lifetime {
		retry.next = time.Time{} // expired: no next attempt
	}
	var recs []record
	for _, rcpt := range rcpts {
		r, ok := byRcpt[rcpt]
		if !ok {
			r = Result{Rcpt: rcpt, Temporary: true, Text: "transport returned no result for this recipient"}
		}
		st := StatusDeferred
		switch {
		case r.Delivered:
			st = StatusDelivered
		case !r.Temporary:
			st = StatusFailed
		}
		recs = append(recs, record{Kind: recRcpt, At: now.UTC(), Rcpt: rcpt, Status: st,
			Code: r.Code, Enhanced: r.Enhanced, Text: oneLine(r.Text), MTA: r.RemoteMTA})
		q.logDelivery(e, r, st, now, retry)
	}
	q.mu.Lock()
	for i := range recs {
		e.apply(&recs[i])
	}
	expired := now.Sub(e.meta.Arrival) >= q.opts.Lifetime
	if expired {
		// RFC 5321 section 4.5.4.1: give up after the queue lifetime and
		// report; 4.4.7 is "delivery time expired" (RFC 3463).
		for _, a := range e.pending() {
			rs := e.rcpt(a)
			text := "message expired in the queue"
			if rs.LastError != "" {
				text += " (last error: " + rs.LastError + ")"
			}
			r := record{Kind: recRcpt, At: now.UTC(), Rcpt: a, Status: StatusFailed,
				Code: rs.Code, Enhanced: "4.4.7", Text: text, MTA: rs.RemoteMTA}
			e.apply(&r)
			recs = append(recs, r)
		}
	}
	finished := e.finished()
	q.mu.Unlock()
	if marked {
		if finished {
			q.remove(e)
			return
		}
		recs = append([]record{{Kind: recAttempt, At: start.UTC(), N: 1}}, recs...)
	}
	if err := q.appendStatus(e, recs, false); err != nil {
		q.log.Error("cannot record results", slog.String("id", e.id), slog.Any("error", err))
	}
	q.bounceFailed(ctx, e, now)
	q.warnDelay(ctx, e, now)
	q.mu.Lock()
	done := e.finished() || e.deleted
	q.mu.Unlock()
	if done {
		q.remove(e)
		return
	}
	next := retry.next // what the delivery lines said
	if next.IsZero() {
		next = start.Add(q.opts.MinBackoff)
	}
	q.requeue(e, next)
}

// requeue ends an attempt and schedules the next one.
func (q *Queue) requeue(e *entry, next time.Time) {
	q.mu.Lock()
	e.active = false
	q.active--
	e.next = next
	if e.deleted {
		q.mu.Unlock()
		q.remove(e)
		return
	}
	if !e.held {
		q.due.push(e)
	}
	q.mu.Unlock()
	q.poke()
}

// remove deletes a message whose recipients are all final, or that an
// operator deleted. The message file goes first: a status file left alone
// is swept by Open. The unlinks are not fsynced: if a power cut brought the
// files back, the message would be tried again, which duplicates but never
// loses, and Postfix makes the same trade.
func (q *Queue) remove(e *entry) {
	os.Remove(q.msgPath(e.id))
	os.Remove(q.statusPath(e.id)) // often none (mark.go): the unlink just fails
	q.mu.Lock()
	if e.active {
		e.active = false
		q.active--
	}
	q.due.remove(e)
	delete(q.entries, e.id)
	q.mu.Unlock()
	q.log.Info("removed", slog.String("id", e.id))
	q.poke()
}

// logDelivery writes the one mail-log line per delivery attempt and recipient (from,
// to, relay, status, delay; docs/ARCHITECTURE.md, Sending), stable for grep and fail2ban.
func (q *Queue) logDelivery(e *entry, r Result, st RcptStatus, now time.Time, retry retryNote) {
	ev := event.Delivery{Stage: event.StageRelay, Status: event.Deferred, ID: e.id, From: e.meta.From, Rcpt: r.Rcpt,
		Where: r.RemoteMTA, Reason: oneLine(r.Text), Delay: now.Sub(e.meta.Arrival),
		Code: r.Code, Enhanced: r.Enhanced, Attempt: retry.attempt}
	switch st {
	case StatusDelivered:
		ev.Status = event.Delivered
	case StatusFailed:
		ev.Status = event.Bounced
	default:
		ev.NextAttempt = retry.next
	}
	q.report(ev)
}

// report writes the delivery line of ev (deliveryLine) and emits ev: the line and what
// the metrics count are the one value.
func (q *Queue) report(ev event.Delivery) {
	level := slog.LevelInfo
	if ev.Status == event.Bounced {
		level = slog.LevelWarn
	}
	q.log.LogAttrs(context.Background(), level, "delivery", deliveryLine(ev)...)
	if q.opts.Events != nil {
		q.opts.Events.Emit(ev)
	}
}

// deliveryLine is the attributes of the "delivery" line of one attempt for one recipient,
// in their documented order; its status words are the queue's (failed for a bounce).
func deliveryLine(ev event.Delivery) []slog.Attr {
	st := StatusDeferred
	switch ev.Status {
	case event.Delivered:
		st = StatusDelivered
	case event.Bounced:
		st = StatusFailed
	}
	attrs := []slog.Attr{slog.String("id", ev.ID), slog.String("from", ev.From), slog.String("to", ev.Rcpt),
		slog.String("relay", ev.Where), slog.String("status", string(st)),
		slog.Float64("delay", ev.Delay.Seconds()),
		slog.Int("code", ev.Code), slog.String("dsn", ev.Enhanced), slog.String("reason", ev.Reason),
		slog.Int("attempt", ev.Attempt)}
	if st == StatusDeferred && !ev.NextAttempt.IsZero() {
		attrs = append(attrs, slog.String("next_attempt", ev.NextAttempt.UTC().Format(time.RFC3339)))
	}
	return attrs
}

// retryNote is what a delivery line says about the attempt: its number and, for a
// deferred recipient, when the next one is due (zero when the message expired).
type retryNote struct {
	attempt int
	next    time.Time
}

// oneLine keeps a reply text on one line for logs, status records and DSNs.
func oneLine(s string) string {
	s = strings.Map(func(r rune) rune {
		if r == '\r' || r == '\n' || r == '\t' {
			return ' '
		}
		if r < 0x20 || r == 0x7f {
			return -1
		}
		return r
	}, s)
	return strings.Join(strings.Fields(s), " ")
}

func (q *Queue) String() string { return fmt.Sprintf("queue(%s)", q.dir) }
