package localsubmit

import (
	"sync"
	"time"
)

// uidRate limits how many messages each local uid may submit per minute, over the
// socket and the maildrop together. A message over the limit is not lost: on the socket
// it is refused as temporary (sendmail then leaves it in the maildrop), in the maildrop it
// waits for a later scan. Each uid has its own window, so one user's flood delays only
// that user's mail; root is not limited (it can do anything anyway), nor is a limit of 0.
type uidRate struct {
	perMinute int
	now       func() time.Time
	mu        sync.Mutex
	recent    map[uint32][]time.Time // per uid, the submissions of the last minute
}

func newUIDRate(perMinute int, now func() time.Time) *uidRate {
	return &uidRate{perMinute: perMinute, now: now, recent: map[uint32][]time.Time{}}
}

// allow records one submission of uid and reports whether it is within the limit.
func (r *uidRate) allow(uid uint32) bool {
	if r.perMinute <= 0 || uid == 0 {
		return true
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	now := r.now()
	ev := r.recent[uid]
	i := 0
	for i < len(ev) && now.Sub(ev[i]) >= time.Minute {
		i++
	}
	ev = ev[i:]
	if len(ev) >= r.perMinute {
		r.recent[uid] = ev
		return false
	}
	r.recent[uid] = append(ev, now)
	// Forget uids that have been quiet, so the map stays as small as the active users.
	if len(r.recent) > 1024 {
		for u, e := range r.recent {
			if len(e) == 0 || now.Sub(e[len(e)-1]) >= time.Minute {
				delete(r.recent, u)
			}
		}
	}
	return true
}

// maxConnsPerUID bounds the connections one uid (not root) may hold open on the socket
// at once: sendmail uses one for a moment, so more are a flood, and an idle one would
// otherwise hold a goroutine and a descriptor of the daemon for connTimeout.
const maxConnsPerUID = 8

// uidSlots counts each uid's open connections.
type uidSlots struct {
	max  int
	mu   sync.Mutex
	open map[uint32]int // only uids with a connection open
}

func newUIDSlots(max int) *uidSlots { return &uidSlots{max: max, open: map[uint32]int{}} }

// acquire takes a slot for uid, false when it already holds max; root is not limited.
func (s *uidSlots) acquire(uid uint32) bool {
	if uid == 0 {
		return true
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.open[uid] >= s.max {
		return false
	}
	s.open[uid]++
	return true
}

// release gives back a slot acquire took.
func (s *uidSlots) release(uid uint32) {
	if uid == 0 {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.open[uid]--; s.open[uid] <= 0 {
		delete(s.open, uid)
	}
}
