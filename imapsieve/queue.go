package imapsieve

import (
	"slices"
	"sync"

	"github.com/postern/postern/imap"
)

// queue holds the events waiting to run: bounded in total and per user, so that one
// user's flood (thousands of STOREs) neither grows memory nor starves the others' events.
// A FLAG event for a message that already has one waiting is merged into it (the script
// reads the message's flags when it runs, so one run sees them all); anything over a
// bound is dropped, and the caller logs it.
type queue struct {
	ready chan *imap.SieveEvent // the events in arrival order, at most size of them

	mu      sync.Mutex
	perUser map[string]int               // user -> events waiting
	flags   map[flagKey]*imap.SieveEvent // FLAG events waiting, to merge into
	maxUser int
}

type flagKey struct {
	user, mailbox string
	uid           uint32
}

// dropReason says why an event was not queued.
type dropReason string

const (
	queued     dropReason = ""
	merged     dropReason = "merged"
	queueFull  dropReason = "queue_full"      // the whole queue
	userIsFull dropReason = "user_share_full" // the user's eighth of it
	shutdown   dropReason = "shutdown"        // still waiting when Run ended
)

func newQueue(size int) *queue {
	return &queue{ready: make(chan *imap.SieveEvent, size), perUser: map[string]int{},
		flags: map[flagKey]*imap.SieveEvent{}, maxUser: max(size/8, 16)}
}

// put queues ev without waiting.
func (q *queue) put(ev imap.SieveEvent) dropReason {
	q.mu.Lock()
	defer q.mu.Unlock()
	key := flagKey{ev.User, ev.Mailbox, ev.UID}
	if ev.Cause == imap.CauseFlag {
		if w, ok := q.flags[key]; ok {
			for _, f := range ev.ChangedFlags {
				if !slices.Contains(w.ChangedFlags, f) {
					w.ChangedFlags = append(w.ChangedFlags, f)
				}
			}
			return merged
		}
	}
	if q.perUser[ev.User] >= q.maxUser {
		return userIsFull
	}
	p := &ev
	select {
	case q.ready <- p:
	default:
		return queueFull
	}
	q.perUser[ev.User]++
	if ev.Cause == imap.CauseFlag {
		q.flags[key] = p
	}
	return queued
}

// done takes a received event out of the books and returns a copy that later merges
// cannot change.
func (q *queue) done(p *imap.SieveEvent) imap.SieveEvent {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.perUser[p.User]--; q.perUser[p.User] <= 0 {
		delete(q.perUser, p.User)
	}
	key := flagKey{p.User, p.Mailbox, p.UID}
	if q.flags[key] == p {
		delete(q.flags, key)
	}
	ev := *p
	ev.ChangedFlags = slices.Clone(p.ChangedFlags)
	return ev
}
