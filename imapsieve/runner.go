package imapsieve

import (
	"context"
	"fmt"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/postern/postern/event"
	"github.com/postern/postern/imap"
	"github.com/postern/postern/server/config"
	"github.com/postern/postern/sieve"
	"github.com/postern/postern/smtp"
	"github.com/postern/postern/store"
)

// Mailboxes reads and changes the messages events are about (the IMAP server).
type Mailboxes interface {
	SieveMessage(ctx context.Context, user, mailbox string, uid uint32) (path string, flags []string, err error)
	ApplySieve(ctx context.Context, user, mailbox string, uid uint32, o imap.SieveOutcome) error
}

// Sender sends what scripts decided to send (the delivery agent): redirected copies
// and enotify notifications, with delivery's checks (a message that may not be sent on
// is refused).
type Sender interface {
	SendFromSieve(ctx context.Context, user string, msg smtp.Message, redirects []string, notifies []sieve.Notify) error
	// HeldFromSieve says why msg may not be sent on ("" when it may): asked before the
	// user's rate is counted, so a held copy takes no slot of it.
	HeldFromSieve(user string, msg smtp.Message) string
}

// Rates is the outbound rate limiter the user's own submissions count against ([limits]
// messages and recipients per minute per user, limits.Rates): what scripts send on IMAP
// events counts there too, so a flood of events cannot send more than the user could.
type Rates interface {
	Message(s *smtp.Session) error
	Recipient(s *smtp.Session) error
}

// EventSink takes the runner's typed events (event.IMAPSieveDropped), for the metrics.
type EventSink interface {
	Emit(event.Event)
}

// Options configure a Runner.
type Options struct {
	Rules     []config.IMAPSieveRule
	Store     *store.Store
	GlobalDir string // [sieve] global_dir, for include :global
	Delimiter string // the recipient delimiter, for subaddress
	SpamTest  []sieve.ScoreSource
	VirusTest []sieve.ScoreSource
	Logger    *slog.Logger
	Rates     Rates     // nil: sends are not rate limited (tests)
	Events    EventSink // nil: no events
	// QueueSize bounds the events waiting to run; 0 means 1024.
	QueueSize int
	// EventTimeout bounds one event's whole run (scripts, copies, sends); 0 means 30s.
	EventTimeout time.Duration
}

// Runner queues IMAP events and runs their scripts.
type Runner struct {
	o       Options
	rules   []rule
	queue   *queue
	log     *slog.Logger
	cache   *personalCache
	dropped atomic.Int64 // events dropped since the start, for the log
}

// New compiles the rules' global scripts; a script that does not compile is an error.
func New(o Options) (*Runner, error) {
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.QueueSize <= 0 {
		o.QueueSize = 1024
	}
	if o.EventTimeout <= 0 {
		o.EventTimeout = 30 * time.Second
	}
	rules, err := compileRules(o.Rules, o.Store, o.GlobalDir)
	if err != nil {
		return nil, err
	}
	return &Runner{o: o, rules: rules, queue: newQueue(o.QueueSize), log: o.Logger,
		cache: newPersonalCache(o.Store, o.GlobalDir)}, nil
}

// Wants says whether some rule runs for cause in mailbox (imap.SieveEvents).
func (r *Runner) Wants(mailbox, cause string) bool {
	for _, ru := range r.rules {
		if ru.matches(mailbox, cause) {
			return true
		}
	}
	return false
}

// Event queues ev without waiting (imap.SieveEvents). A FLAG event for a message that
// has one waiting merges into it; over the queue's bounds the event is dropped.
func (r *Runner) Event(ev imap.SieveEvent) {
	if why := r.queue.put(ev); why != queued && why != merged {
		r.drop(ev, why)
	}
}

// drop counts an event whose scripts will not run (postern_imapsieve_events_dropped_total
// by reason) and logs the 1st, 2nd, 4th, 8th... drop: a flood must not flood the log too.
func (r *Runner) drop(ev imap.SieveEvent, why dropReason) {
	if r.o.Events != nil {
		r.o.Events.Emit(event.IMAPSieveDropped{Reason: string(why), User: ev.User, Mailbox: ev.Mailbox, Cause: ev.Cause, UID: ev.UID})
	}
	if n := r.dropped.Add(1); n&(n-1) == 0 {
		r.log.Warn("imapsieve: event dropped", "reason", string(why), "dropped_total", n,
			"user", ev.User, "mailbox", ev.Mailbox, "cause", ev.Cause, "uid", ev.UID)
	}
}

// Run runs the queued events, one at a time in the order they came, until ctx ends.
// What is still waiting then is not run (the queue is in memory; the messages are
// stored and untouched): each such event is counted as dropped for "shutdown", and one
// line says how many there were.
func (r *Runner) Run(ctx context.Context, mb Mailboxes, out Sender) {
	for {
		if ctx.Err() != nil { // before select, which would pick a waiting event at random
			r.discardWaiting()
			return
		}
		select {
		case <-ctx.Done():
		case p := <-r.queue.ready:
			r.handle(ctx, mb, out, r.queue.done(p))
		}
	}
}

// discardWaiting takes the events still queued out, counting each as dropped.
func (r *Runner) discardWaiting() {
	n := 0
	for {
		select {
		case p := <-r.queue.ready:
			r.drop(r.queue.done(p), shutdown)
			n++
		default:
			if n > 0 {
				r.log.Warn("imapsieve: events not run at shutdown; their messages are untouched", "events", n)
			}
			return
		}
	}
}

func (r *Runner) handle(ctx context.Context, mb Mailboxes, out Sender, ev imap.SieveEvent) {
	ctx, cancel := context.WithTimeout(ctx, r.o.EventTimeout)
	defer cancel()
	log := r.log.With("user", ev.User, "mailbox", ev.Mailbox, "cause", ev.Cause, "uid", ev.UID)
	if err := r.runEvent(ctx, mb, out, ev, log); err != nil {
		log.Error("imapsieve: the scripts failed; the message is left as it was", "err", err)
	}
}

// scriptsFor lists the scripts an event runs: every matching rule's before, then
// their personal scripts, then their after scripts (Pigeonhole's order).
func (r *Runner) scriptsFor(ctx context.Context, ev imap.SieveEvent) ([]*sieve.Script, error) {
	var before, personal, after []*sieve.Script
	for _, ru := range r.rules {
		if !ru.matches(ev.Mailbox, ev.Cause) || !ru.fromMatches(ev) {
			continue
		}
		before = append(before, ru.before...)
		after = append(after, ru.after...)
		if ru.personal != "" {
			sc, err := r.cache.get(ctx, ev.User, ru.personal)
			if err != nil {
				return nil, fmt.Errorf("personal script %q: %w", ru.personal, err)
			}
			if sc != nil {
				personal = append(personal, sc)
			}
		}
	}
	return append(append(before, personal...), after...), nil
}
