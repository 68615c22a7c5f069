package imap

import "sync"

// hub fans change notifications out to the sessions that have a mailbox selected.
// A session's channel has room for one signal: a pending wake-up already tells it to
// look at the index, so further signals can be dropped.
type hub struct {
	mu   sync.Mutex
	subs map[hubKey]map[chan struct{}]struct{}
}

type hubKey struct{ user, mailbox string }

func newHub() *hub { return &hub{subs: map[hubKey]map[chan struct{}]struct{}{}} }

// subscribe returns the channel that is signalled when (user, mailbox) changes, and the
// function that unsubscribes it.
func (h *hub) subscribe(user, mailbox string) (<-chan struct{}, func()) {
	ch := make(chan struct{}, 1)
	k := hubKey{user, mailbox}
	h.mu.Lock()
	if h.subs[k] == nil {
		h.subs[k] = map[chan struct{}]struct{}{}
	}
	h.subs[k][ch] = struct{}{}
	h.mu.Unlock()
	return ch, func() {
		h.mu.Lock()
		delete(h.subs[k], ch)
		if len(h.subs[k]) == 0 {
			delete(h.subs, k)
		}
		h.mu.Unlock()
	}
}

// notify signals every subscriber of (user, mailbox) except self (the session that made
// the change and reports it in its own command's responses).
func (h *hub) notify(user, mailbox string, self <-chan struct{}) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for ch := range h.subs[hubKey{user, mailbox}] {
		if ch == self {
			continue
		}
		select {
		case ch <- struct{}{}:
		default:
		}
	}
}

// userLocks serialise the write operations of one user (flag renames, expunges, copies,
// rescans) within this process, so two sessions never rename the same file at once.
// Deliveries do not take it: they only add new files under new names.
type userLocks struct {
	mu    sync.Mutex
	locks map[string]*userLock
}

type userLock struct {
	sync.Mutex
	refs int
}

func (l *userLocks) lock(user string) (unlock func()) {
	l.mu.Lock()
	if l.locks == nil {
		l.locks = map[string]*userLock{}
	}
	ul := l.locks[user]
	if ul == nil {
		ul = &userLock{}
		l.locks[user] = ul
	}
	ul.refs++
	l.mu.Unlock()
	ul.Lock()
	return func() {
		ul.Unlock()
		l.mu.Lock()
		ul.refs--
		if ul.refs == 0 {
			delete(l.locks, user)
		}
		l.mu.Unlock()
	}
}
