package limits

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"
)

// LoginConfig configures Logins.
type LoginConfig struct {
	// SlowAfter failures of one (account, network) pair make each further attempt of
	// that pair wait (1 s, doubling up to MaxDelay); LockAfter lock the pair out.
	SlowAfter, LockAfter int
	// NetworkLockAfter failures from one client network, whatever the accounts, lock
	// the network out. 0 is LockAfter*3.
	NetworkLockAfter int
	// AccountSlowAfter failures of one account, from all networks together, space the
	// attempts on that account from networks it has not logged in from to one per
	// MaxDelay. 0 is LockAfter*3.
	AccountSlowAfter int
	MaxDelay         time.Duration
	Window           time.Duration // how long failures count and locks last
	Networks         Networks
	// Delimiter is the recipient delimiter: alice+x@ and alice@ are one account. "" for
	// none.
	Delimiter string
	Now       func() time.Time                           // default time.Now
	Sleep     func(context.Context, time.Duration) error // default a timer honouring ctx
}

// knownFor is how long a network an account logged in from stays exempt from the
// account's global slow-down.
const knownFor = 7 * 24 * time.Hour

// maxQueue bounds how far ahead the account-wide slow-down books attempts: beyond it an
// attempt is refused at once rather than held.
const maxQueue = 4

// Logins slows down and locks out password guessing for every protocol that takes a
// password (one shared instance: SMTP AUTH, IMAP, ManageSieve). See the package doc.
type Logins struct {
	cfg LoginConfig

	mu    sync.Mutex
	fails map[string]*failCount // "p:" pair, "n:" network, "a:" account
	known map[string]time.Time  // pair -> last success
	next  map[string]time.Time  // account -> earliest time of the next spaced attempt
	sweep time.Time
}

type failCount struct {
	n    int
	last time.Time
}

// NewLogins returns a limiter with cfg.
func NewLogins(cfg LoginConfig) *Logins {
	if cfg.NetworkLockAfter <= 0 {
		cfg.NetworkLockAfter = cfg.LockAfter * 3
	}
	if cfg.AccountSlowAfter <= 0 {
		cfg.AccountSlowAfter = cfg.LockAfter * 3
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Sleep == nil {
		cfg.Sleep = sleepCtx
	}
	return &Logins{cfg: cfg, fails: map[string]*failCount{}, known: map[string]time.Time{}, next: map[string]time.Time{}}
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

// LockedOut says why an attempt was refused without checking the password.
type LockedOut struct {
	Key   string
	Until time.Time
}

func (e *LockedOut) Error() string {
	return fmt.Sprintf("too many failed logins for %s; locked until %s", e.Key, e.Until.UTC().Format(time.RFC3339))
}

// NormalizeAccount folds a login name the way accounts are matched: trimmed, lower
// case, without +detail (with the configured delimiter). Over-long names are cut, so a
// key stays small.
func NormalizeAccount(user, delimiter string) string {
	u := strings.ToLower(strings.TrimSpace(user))
	if len(u) > 320 {
		u = u[:320]
	}
	local, domain, found := u, "", false
	if i := strings.LastIndexByte(u, '@'); i >= 0 {
		local, domain, found = u[:i], u[i+1:], true
	}
	if delimiter != "" {
		if i := strings.Index(local, delimiter); i > 0 {
			local = local[:i]
		}
	}
	if !found {
		return local
	}
	return local + "@" + strings.TrimSuffix(domain, ".")
}

type loginKeys struct {
	pair, network, account string
	netName, accName       string
}

func (l *Logins) keys(ip, user string) loginKeys {
	n := l.cfg.Networks.Of(ParseAddr(ip))
	nn := "unix"
	if n.IsValid() {
		nn = n.String()
	}
	acc := NormalizeAccount(user, l.cfg.Delimiter)
	return loginKeys{pair: "p:" + acc + " " + nn, network: "n:" + nn, account: "a:" + acc, netName: nn, accName: acc}
}

// Allow is asked before a password is checked; it may wait (slow-down) and returns a
// *LockedOut while the pair or the network is locked, or ctx's error.
func (l *Logins) Allow(ctx context.Context, ip, user string) error {
	k := l.keys(ip, user)
	now := l.cfg.Now()
	l.mu.Lock()
	l.sweepLocked(now)
	if err := l.lockedLocked(k, now); err != nil {
		l.mu.Unlock()
		return err
	}
	var wait time.Duration
	if f := l.live(k.pair, now); f != nil && f.n >= l.cfg.SlowAfter {
		wait = min(time.Second<<min(f.n-l.cfg.SlowAfter, 10), l.cfg.MaxDelay)
	}
	spaced, err := l.spaceLocked(k, now)
	l.mu.Unlock()
	if err != nil {
		return err
	}
	wait = max(wait, spaced)
	if wait <= 0 {
		return nil
	}
	return l.cfg.Sleep(ctx, wait)
}

func (l *Logins) live(key string, now time.Time) *failCount {
	f := l.fails[key]
	if f == nil || now.Sub(f.last) > l.cfg.Window {
		return nil
	}
	return f
}

func (l *Logins) lockedLocked(k loginKeys, now time.Time) error {
	if f := l.live(k.pair, now); f != nil && f.n >= l.cfg.LockAfter {
		return &LockedOut{Key: k.accName + " from " + k.netName, Until: f.last.Add(l.cfg.Window)}
	}
	if f := l.live(k.network, now); f != nil && f.n >= l.cfg.NetworkLockAfter {
		return &LockedOut{Key: "network " + k.netName, Until: f.last.Add(l.cfg.Window)}
	}
	return nil
}

// spaceLocked books the next slot of an account under distributed attack, for networks
// the account has not logged in from; it returns how long to wait for it.
func (l *Logins) spaceLocked(k loginKeys, now time.Time) (time.Duration, error) {
	f := l.live(k.account, now)
	if f == nil || f.n < l.cfg.AccountSlowAfter {
		return 0, nil
	}
	if t, ok := l.known[k.pair]; ok && now.Sub(t) < knownFor {
		return 0, nil
	}
	step := max(l.cfg.MaxDelay, time.Second)
	slot := l.next[k.account]
	if slot.Before(now) {
		slot = now
	}
	if slot.Sub(now) > maxQueue*step {
		return 0, &LockedOut{Key: "account " + k.accName + " (too many failures from many networks)", Until: slot}
	}
	l.next[k.account] = slot.Add(step)
	return slot.Sub(now), nil
}

// Record reports the outcome of a password check. A success clears only its own
// (account, network) pair and marks the network as the account's.
func (l *Logins) Record(ip, user string, ok bool) {
	k := l.keys(ip, user)
	now := l.cfg.Now()
	l.mu.Lock()
	defer l.mu.Unlock()
	if ok {
		delete(l.fails, k.pair)
		l.known[k.pair] = now
		return
	}
	for _, key := range []string{k.pair, k.network, k.account} {
		l.countLocked(key, now)
	}
}

// Penalize counts a failure against the client network alone: a probe that is not a
// login but should share its budget (a forged SRS address, for example).
func (l *Logins) Penalize(ip string) {
	k := l.keys(ip, "")
	now := l.cfg.Now()
	l.mu.Lock()
	defer l.mu.Unlock()
	l.countLocked(k.network, now)
}

// NetworkLocked reports whether ip's network is locked out.
func (l *Logins) NetworkLocked(ip string) bool {
	k := l.keys(ip, "")
	now := l.cfg.Now()
	l.mu.Lock()
	defer l.mu.Unlock()
	f := l.live(k.network, now)
	return f != nil && f.n >= l.cfg.NetworkLockAfter
}

func (l *Logins) countLocked(key string, now time.Time) {
	f := l.live(key, now)
	if f == nil {
		f = &failCount{}
		l.fails[key] = f
	}
	f.n++
	f.last = now
}

// sweepLocked forgets expired failures, spacing slots and known networks, at most once
// a minute.
func (l *Logins) sweepLocked(now time.Time) {
	if now.Sub(l.sweep) < time.Minute {
		return
	}
	l.sweep = now
	for k, f := range l.fails {
		if now.Sub(f.last) > l.cfg.Window {
			delete(l.fails, k)
		}
	}
	for k, t := range l.next {
		if t.Before(now) {
			delete(l.next, k)
		}
	}
	for k, t := range l.known {
		if now.Sub(t) > knownFor {
			delete(l.known, k)
		}
	}
}

// Failures returns the live failure count of a key kind for tests: kind is "pair",
// "network" or "account".
func (l *Logins) Failures(kind, ip, user string) int {
	k := l.keys(ip, user)
	key := map[string]string{"pair": k.pair, "network": k.network, "account": k.account}[kind]
	l.mu.Lock()
	defer l.mu.Unlock()
	if f := l.live(key, l.cfg.Now()); f != nil {
		return f.n
	}
	return 0
}
