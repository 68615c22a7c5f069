package server

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/postern/postern/server/config"
)

// authLimiter slows down and then locks out password guessing, per client IP and per
// account, for every protocol that takes a password (IMAP, SMTP AUTH, ManageSieve): one
// shared limiter, so a guesser cannot spread attempts across protocols.
//
// Each key (ip:ADDR, user:NAME) counts failures in a sliding window. From slowAfter
// failures on, every further attempt of that key waits (1 s, doubling, capped at maxDelay)
// before its password is even checked; from lockAfter failures on, attempts are refused
// outright until the window has passed. A success clears the account's and the IP's
// counters. Keys are dropped once their window is over, so memory stays bounded by the
// number of recent offenders.
type authLimiter struct {
	slowAfter int
	lockAfter int
	window    time.Duration
	maxDelay  time.Duration
	now       func() time.Time
	sleep     func(context.Context, time.Duration) error

	mu    sync.Mutex
	fails map[string]*failCount
	sweep time.Time
}

type failCount struct {
	n     int
	first time.Time
	last  time.Time
}

func newAuthLimiter(l config.Limits) *authLimiter {
	maxDelay, lockout := l.AuthDurations()
	return &authLimiter{
		slowAfter: l.AuthFailuresBeforeDelay, lockAfter: l.AuthFailuresBeforeLockout, window: lockout, maxDelay: maxDelay,
		now: time.Now, sleep: sleepCtx, fails: map[string]*failCount{},
	}
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// errLockedOut says why an attempt was refused without checking the password.
type errLockedOut struct {
	key   string
	until time.Time
}

func (e *errLockedOut) Error() string {
	return fmt.Sprintf("too many failed logins for %s; locked until %s", e.key, e.until.UTC().Format(time.RFC3339))
}

func limiterKeys(ip, user string) []string {
	keys := []string{"ip:" + ip}
	if user != "" {
		keys = append(keys, "user:"+user)
	}
	return keys
}

// Allow is asked before a password is checked.
func (l *authLimiter) Allow(ctx context.Context, ip, user string) error {
	now := l.now()
	l.mu.Lock()
	l.sweepLocked(now)
	worst := 0
	for _, k := range limiterKeys(ip, user) {
		f := l.fails[k]
		if f == nil || now.Sub(f.last) > l.window {
			continue
		}
		if f.n >= l.lockAfter {
			until := f.last.Add(l.window)
			l.mu.Unlock()
			return &errLockedOut{key: k, until: until}
		}
		worst = max(worst, f.n)
	}
	l.mu.Unlock()
	if worst < l.slowAfter {
		return nil
	}
	d := time.Second << min(worst-l.slowAfter, 10)
	return l.sleep(ctx, min(d, l.maxDelay))
}

// Record reports the outcome of a password check.
func (l *authLimiter) Record(ip, user string, ok bool) {
	now := l.now()
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, k := range limiterKeys(ip, user) {
		if ok {
			delete(l.fails, k)
			continue
		}
		f := l.fails[k]
		if f == nil || now.Sub(f.last) > l.window {
			f = &failCount{first: now}
			l.fails[k] = f
		}
		f.n++
		f.last = now
	}
}

// sweepLocked forgets keys whose last failure is older than the window, at most once a
// minute.
func (l *authLimiter) sweepLocked(now time.Time) {
	if now.Sub(l.sweep) < time.Minute {
		return
	}
	l.sweep = now
	for k, f := range l.fails {
		if now.Sub(f.last) > l.window {
			delete(l.fails, k)
		}
	}
}
