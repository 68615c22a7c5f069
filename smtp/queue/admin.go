package queue

import (
	"fmt"
	"sort"
	"time"
)

// List describes every queued message, oldest first.
func (q *Queue) List() []Info {
	out, _ := q.oldest(func(*entry) bool { return true }, -1)
	return out
}

// ListSubmittedBy describes the oldest max queued messages the local user uid submitted
// (their Envelope.UID), oldest first, and says how many more there are: what mailq shows
// a user who may not see the whole queue. Only the max are described, so a user with
// many large entries costs one listing no more than max of them.
func (q *Queue) ListSubmittedBy(uid uint32, max int) ([]Info, int) {
	return q.oldest(func(e *entry) bool { return e.meta.UID != nil && *e.meta.UID == uid }, max)
}

// oldest describes the oldest max (all when max < 0) of the queued messages keep
// admits, by arrival then id, and says how many more it admits.
func (q *Queue) oldest(keep func(*entry) bool, max int) ([]Info, int) {
	q.mu.Lock()
	defer q.mu.Unlock()
	var kept []*entry
	for _, e := range q.entries {
		if keep(e) {
			kept = append(kept, e)
		}
	}
	sort.Slice(kept, func(i, j int) bool {
		return listedBefore(kept[i].meta.Arrival, kept[i].id, kept[j].meta.Arrival, kept[j].id)
	})
	more := 0
	if max >= 0 && len(kept) > max {
		more, kept = len(kept)-max, kept[:max]
	}
	out := make([]Info, len(kept))
	for i, e := range kept {
		out[i] = e.info()
	}
	return out, more
}

// SortInfos puts a listing in the order of every queue listing (List, mailq's): oldest
// first, then by id.
func SortInfos(list []Info) {
	sort.SliceStable(list, func(i, j int) bool {
		return listedBefore(list[i].Arrival, list[i].ID, list[j].Arrival, list[j].ID)
	})
}

// listedBefore is that order: a message that arrived at at with id aid before one of
// bt and bid.
func listedBefore(at time.Time, aid string, bt time.Time, bid string) bool {
	if !at.Equal(bt) {
		return at.Before(bt)
	}
	return aid < bid
}

// Show describes one message and returns its header section.
func (q *Queue) Show(id string) (Info, []byte, error) {
	e, err := q.lookup(id)
	if err != nil {
		return Info{}, nil, err
	}
	q.mu.Lock()
	in := e.info()
	q.mu.Unlock()
	headers, err := q.readHeaders(e)
	return in, headers, err
}

func (q *Queue) lookup(id string) (*entry, error) {
	if !validID(id) {
		return nil, fmt.Errorf("%w: %q", ErrNotFound, id)
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	e := q.entries[id]
	if e == nil || e.deleted {
		return nil, fmt.Errorf("%w: %s", ErrNotFound, id)
	}
	return e, nil
}

// Flush makes every waiting (not held) message due now, like `postqueue -f`.
// It returns how many were rescheduled.
func (q *Queue) Flush() int {
	q.mu.Lock()
	now := q.opts.Clock.Now()
	n := 0
	for _, e := range q.entries {
		if e.hidx >= 0 && e.next.After(now) {
			e.next = now
			q.due.push(e)
			n++
		}
	}
	q.mu.Unlock()
	q.poke()
	return n
}

// Retry makes one waiting message due now. A held message stays held.
func (q *Queue) Retry(id string) error {
	e, err := q.lookup(id)
	if err != nil {
		return err
	}
	q.mu.Lock()
	if e.hidx >= 0 {
		e.next = q.opts.Clock.Now()
		q.due.push(e)
	}
	q.mu.Unlock()
	q.poke()
	return nil
}

// Hold stops delivery attempts for a message until Release (an attempt
// already running finishes). The hold is durable.
func (q *Queue) Hold(id string) error {
	return q.setHold(id, true)
}

// Release undoes Hold and makes the message due now.
func (q *Queue) Release(id string) error {
	return q.setHold(id, false)
}

func (q *Queue) setHold(id string, hold bool) error {
	e, err := q.lookup(id)
	if err != nil {
		return err
	}
	kind := recRelease
	if hold {
		kind = recHold
	}
	rec := record{Kind: kind, At: q.opts.Clock.Now().UTC()}
	if err := q.appendStatus(e, []record{rec}, true); err != nil {
		return err
	}
	q.mu.Lock()
	e.apply(&rec)
	switch {
	case hold:
		q.due.remove(e)
	case !e.active:
		e.next = q.opts.Clock.Now()
		q.due.push(e)
	}
	q.mu.Unlock()
	q.poke()
	return nil
}

// Delete removes a message without any DSN, like `postsuper -d`. If an
// attempt is running, the message is removed when it ends (recipients the
// attempt delivers are delivered).
func (q *Queue) Delete(id string) error {
	e, err := q.lookup(id)
	if err != nil {
		return err
	}
	q.mu.Lock()
	e.deleted = true
	active := e.active
	q.mu.Unlock()
	if !active {
		q.remove(e)
	}
	q.opts.Logger.Info("deleted by operator", "component", "queue", "id", id)
	return nil
}

// Len returns the number of queued messages.
func (q *Queue) Len() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return len(q.entries)
}

// NextDue returns when the earliest waiting message is due (zero if none);
// for status pages and tests.
func (q *Queue) NextDue() time.Time {
	q.mu.Lock()
	defer q.mu.Unlock()
	if e := q.due.peek(); e != nil {
		return e.next
	}
	return time.Time{}
}
