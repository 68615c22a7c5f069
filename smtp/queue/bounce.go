package queue

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strconv"
	"strings"
	"time"
)

// maxDSNHeaders caps the original headers copied into a DSN.
const maxDSNHeaders = 64 * 1024

// bounceFailed reports newly failed recipients to the sender. No DSN goes to
// the null sender (RFC 5321 section 4.5.5: that is how bounce loops are
// avoided); those failures are only logged. If the Bouncer fails, the
// recipients stay unreported and the next attempt tries again.
func (q *Queue) bounceFailed(ctx context.Context, e *entry, now time.Time) {
	q.mu.Lock()
	failed := e.unnotified()
	var infos []RcptInfo
	for _, a := range failed {
		infos = append(infos, e.rcpt(a).RcptInfo)
	}
	q.mu.Unlock()
	if len(failed) == 0 {
		return
	}
	if e.meta.From != "" && q.bouncer != nil {
		if err := q.sendDSN(ctx, e, BounceFailed, infos, now); err != nil {
			q.log.Error("cannot send bounce, will retry", slog.String("id", e.id), slog.Any("error", err))
			return
		}
	} else {
		q.log.Info("no bounce", slog.String("id", e.id), slog.String("from", e.meta.From),
			slog.String("reason", "null sender or no bouncer"))
	}
	rec := record{Kind: recNotified, At: now.UTC(), Rcpts: failed}
	q.mu.Lock()
	e.apply(&rec)
	q.mu.Unlock()
	if err := q.appendStatus(e, []record{rec}, false); err != nil {
		q.log.Error("cannot record bounce", slog.String("id", e.id), slog.Any("error", err))
	}
}

// warnDelay sends the optional one-time "delayed" DSN (RFC 3464 Action:
// delayed) for a message that has waited DelayWarning.
func (q *Queue) warnDelay(ctx context.Context, e *entry, now time.Time) {
	if q.opts.DelayWarning <= 0 || q.bouncer == nil || e.meta.From == "" {
		return
	}
	q.mu.Lock()
	var infos []RcptInfo
	for _, a := range e.pending() {
		infos = append(infos, e.rcpt(a).RcptInfo)
	}
	due := !e.warned && len(infos) > 0 && now.Sub(e.meta.Arrival) >= q.opts.DelayWarning
	q.mu.Unlock()
	if !due {
		return
	}
	if err := q.sendDSN(ctx, e, BounceDelayed, infos, now); err != nil {
		q.log.Error("cannot send delay warning", slog.String("id", e.id), slog.Any("error", err))
		return
	}
	rec := record{Kind: recWarned, At: now.UTC()}
	q.mu.Lock()
	e.apply(&rec)
	q.mu.Unlock()
	if err := q.appendStatus(e, []record{rec}, false); err != nil {
		q.log.Error("cannot record delay warning", slog.String("id", e.id), slog.Any("error", err))
	}
}

func (q *Queue) sendDSN(ctx context.Context, e *entry, kind BounceKind, rcpts []RcptInfo, now time.Time) error {
	headers, err := q.readHeaders(e)
	if err != nil {
		return err
	}
	q.mu.Lock()
	tag := strconv.FormatUint(q.opts.Rand.Uint64(), 36)
	q.mu.Unlock()
	msg := buildDSN(dsnParams{
		Hostname: q.opts.Hostname, QueueID: e.id, Sender: e.meta.From, Kind: kind,
		Arrival: e.meta.Arrival, Now: now, RetryUntil: e.meta.Arrival.Add(q.opts.Lifetime),
		Rcpts: rcpts, Headers: headers,
		Boundary:  e.id + "." + tag + "/" + q.opts.Hostname,
		MessageID: fmt.Sprintf("%s.%s.%s@%s", e.id, kind, tag, q.opts.Hostname),
	})
	addrs := make([]string, len(rcpts))
	for i, r := range rcpts {
		addrs[i] = r.Addr
	}
	if err := q.bouncer.Bounce(ctx, &Bounce{QueueID: e.id, Kind: kind, To: e.meta.From, Rcpts: addrs, Message: msg}); err != nil {
		return err
	}
	q.log.Info("dsn sent", slog.String("id", e.id), slog.String("kind", string(kind)), slog.String("to", e.meta.From),
		slog.String("rcpts", strings.Join(addrs, ",")))
	return nil
}

func (q *Queue) readHeaders(e *entry) ([]byte, error) {
	f, err := os.Open(q.msgPath(e.id))
	if err != nil {
		return nil, fmt.Errorf("queue: open message: %w", err)
	}
	defer f.Close()
	buf, err := io.ReadAll(io.NewSectionReader(f, e.textOff, min(e.textLen, maxDSNHeaders)))
	if err != nil {
		return nil, fmt.Errorf("queue: read headers: %w", err)
	}
	return headerSection(buf), nil
}
