package localsubmit

import (
	"context"
	"log/slog"
	"strconv"
	"sync"
	"time"
)

// What a local user can make happen again and again (a refused flood, a directory the
// daemon cannot use, a message that waits for an owner) is logged at most once per
// logEvery for each key (the uid and the kind, or the file), and a line says how many
// were not logged since; otherwise one user could fill the journal at the daemon's
// expense.

// logEvery is the least time between two log lines of one key.
const logEvery = 10 * time.Minute

// maxLogKeys bounds the keys remembered; past it the oldest are forgotten (logged again).
const maxLogKeys = 4096

// logGate decides which of repeated log lines are written.
type logGate struct {
	now  func() time.Time
	mu   sync.Mutex
	keys map[string]*gateKey
}

type gateKey struct {
	last       time.Time // when it was last logged
	suppressed int       // lines not logged since
}

func newLogGate(now func() time.Time) *logGate {
	return &logGate{now: now, keys: map[string]*gateKey{}}
}

// allow reports whether the line of key is logged now, and how many of its lines were
// not logged since the last one.
func (g *logGate) allow(key string) (bool, int) {
	g.mu.Lock()
	defer g.mu.Unlock()
	now := g.now()
	k := g.keys[key]
	if k != nil && now.Sub(k.last) < logEvery {
		k.suppressed++
		return false, 0
	}
	if k == nil {
		g.forgetOld(now)
		k = &gateKey{}
		g.keys[key] = k
	}
	n := k.suppressed
	k.last, k.suppressed = now, 0
	return true, n
}

// forgetOld drops the keys not logged for logEvery, and all of them when that is not
// enough to stay under maxLogKeys.
func (g *logGate) forgetOld(now time.Time) {
	if len(g.keys) < maxLogKeys {
		return
	}
	for key, k := range g.keys {
		if now.Sub(k.last) >= logEvery {
			delete(g.keys, key)
		}
	}
	if len(g.keys) >= maxLogKeys {
		clear(g.keys)
	}
}

// logLimited logs msg at level unless a line of key was logged within logEvery.
func (ls *Server) logLimited(log *slog.Logger, level slog.Level, key, msg string, args ...any) {
	ok, n := ls.gate.allow(key)
	if !ok {
		return
	}
	if n > 0 {
		args = append(args, "not_logged_since", n)
	}
	log.Log(context.Background(), level, msg, args...)
}

// uidKey is the log key of one kind of line about uid.
func uidKey(kind string, uid uint32) string { return kind + ":" + strconv.FormatUint(uint64(uid), 10) }
