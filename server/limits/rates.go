package limits

import (
	"sync"
	"time"

	"github.com/postern/postern/server/config"
	"github.com/postern/postern/smtp"
)

// rateWindow is the period the [limits] rates are counted over.
const rateWindow = time.Minute

// Rates is the smtp.RateLimiter of every SMTP listener ([limits] messages and
// recipients per minute), one instance shared by all of them so that a user's rate counts across 587 and 465. It
// counts by the authenticated user when there is one (submission) and by the
// client address for untrusted clients of the MX role; trusted networks,
// LMTP and unix-socket peers are not limited. Each key keeps the times of its
// last events, at most the limit of them, so memory is bounded by the limit
// times the number of active clients; keys idle for a window are swept.
type Rates struct {
	lim config.Limits
	now func() time.Time

	mu        sync.Mutex
	events    map[rateKey][]time.Time
	lastSweep time.Time
}

// rateKey names one counter: what is counted and for whom.
type rateKey struct {
	what string // "msg" or "rcpt"
	user bool   // who is a user rather than an IP address
	who  string
}

// NewRates counts against the rates of lim on the clock now.
func NewRates(lim config.Limits, now func() time.Time) *Rates {
	return &Rates{lim: lim, now: now, events: map[rateKey][]time.Time{}}
}

// Message counts a MAIL FROM: 450 4.7.1 over the rate (Postfix's
// smtpd_client_message_rate_limit wording).
func (l *Rates) Message(s *smtp.Session) error {
	key, limit, ok := l.key(s, "msg")
	if !ok || l.allow(key, limit) {
		return nil
	}
	return smtp.Reply(450, [3]int{4, 7, 1}, "Error: too much mail from %s", who(key))
}

// Recipient counts a RCPT TO: 452 4.5.3 over the rate (RFC 5321 section
// 4.5.3.1.10: 452 makes the client retry the rest later).
func (l *Rates) Recipient(s *smtp.Session) error {
	key, limit, ok := l.key(s, "rcpt")
	if !ok || l.allow(key, limit) {
		return nil
	}
	return smtp.Reply(452, [3]int{4, 5, 3}, "Error: too many recipients from %s", who(key))
}

func who(k rateKey) string {
	if k.user {
		return "user " + k.who
	}
	return k.who
}

// key picks the counter for the session and its limit; ok is false when
// nothing is counted.
func (l *Rates) key(s *smtp.Session, what string) (rateKey, int, bool) {
	msg := what == "msg"
	switch {
	case s.User != "":
		limit := l.lim.RecipientsPerMinutePerUser
		if msg {
			limit = l.lim.MessagesPerMinutePerUser
		}
		return rateKey{what, true, s.User}, limit, limit > 0
	case s.Role == smtp.RoleMX && !s.Trusted && s.RemoteAddr.IsValid():
		limit := l.lim.RecipientsPerMinutePerIP
		if msg {
			limit = l.lim.MessagesPerMinutePerIP
		}
		return rateKey{what, false, s.RemoteAddr.Addr().String()}, limit, limit > 0
	}
	return rateKey{}, 0, false
}

// allow records one event for key unless limit events already happened in
// the last window; a refused event is not recorded.
func (l *Rates) allow(key rateKey, limit int) bool {
	now := l.now()
	l.mu.Lock()
	defer l.mu.Unlock()
	if now.Sub(l.lastSweep) >= rateWindow {
		l.sweep(now)
	}
	ev := recent(l.events[key], now)
	if len(ev) >= limit {
		l.events[key] = ev
		return false
	}
	l.events[key] = append(ev, now)
	return true
}

// recent drops the events older than the window (they are in time order).
func recent(ev []time.Time, now time.Time) []time.Time {
	i := 0
	for i < len(ev) && now.Sub(ev[i]) >= rateWindow {
		i++
	}
	return ev[i:]
}

func (l *Rates) sweep(now time.Time) {
	l.lastSweep = now
	for k, ev := range l.events {
		if len(recent(ev, now)) == 0 {
			delete(l.events, k)
		}
	}
}
