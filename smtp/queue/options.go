package queue

import (
	"errors"
	"log/slog"
	"math/rand/v2"
	"time"
)

// Clock is the queue's view of time, injectable so tests never wait.
type Clock interface {
	Now() time.Time
	// NewTimer returns a timer that fires once after d.
	NewTimer(d time.Duration) Timer
}

// Timer is the part of *time.Timer the scheduler uses.
type Timer interface {
	C() <-chan time.Time
	Stop() bool
}

// Options configure a Queue. Transport is required; the rest have defaults.
type Options struct {
	// Transport makes delivery attempts (server/ adapts smtp/relay to it).
	Transport Transport
	// Hostname names this system in DSNs (Reporting-MTA, From:
	// MAILER-DAEMON@Hostname, Message-ID). Default "localhost".
	Hostname string
	Logger   *slog.Logger
	// Events receives one Delivery event per recipient attempt (package event); nil:
	// none.
	Events EventSink
	Clock  Clock
	// Rand drives the backoff jitter and queue ids. It is used under the
	// queue's lock. Default: a randomly seeded PCG.
	Rand *rand.Rand

	// MaxConcurrency bounds simultaneous delivery attempts. Default 20.
	MaxConcurrency int
	// MinBackoff is the wait after the first failed attempt; each further
	// failure doubles it up to MaxBackoff. Defaults 5m and 1h. A jitter of
	// +-20% spreads retries so a relay coming back is not hit at once.
	MinBackoff time.Duration
	MaxBackoff time.Duration
	// Lifetime: a message still undelivered this long after arrival is
	// bounced (Postfix's maximal_queue_lifetime). Default 5 days.
	Lifetime time.Duration
	// DelayWarning, if positive, sends one "delayed" DSN for a message still
	// queued this long after arrival (Postfix's delay_warning_time). Off by
	// default.
	DelayWarning time.Duration
	// AttemptTimeout bounds one call of Transport.Send. Default 10m.
	AttemptTimeout time.Duration
	// MaxMessageSize, if positive, makes Enqueue refuse larger texts with
	// ErrTooBig (the listener normally enforces the limit first).
	MaxMessageSize int64
}

func (o *Options) setDefaults() error {
	if o.Transport == nil {
		return errors.New("queue: Options.Transport is required")
	}
	if o.Hostname == "" {
		o.Hostname = "localhost"
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.Clock == nil {
		o.Clock = realClock{}
	}
	if o.Rand == nil {
		o.Rand = rand.New(rand.NewPCG(rand.Uint64(), rand.Uint64()))
	}
	if o.MaxConcurrency <= 0 {
		o.MaxConcurrency = 20
	}
	if o.MinBackoff <= 0 {
		o.MinBackoff = 5 * time.Minute
	}
	if o.MaxBackoff < o.MinBackoff {
		o.MaxBackoff = max(time.Hour, o.MinBackoff)
	}
	if o.Lifetime <= 0 {
		o.Lifetime = 5 * 24 * time.Hour
	}
	if o.AttemptTimeout <= 0 {
		o.AttemptTimeout = 10 * time.Minute
	}
	return nil
}

type realClock struct{}

func (realClock) Now() time.Time { return time.Now() }
func (realClock) NewTimer(d time.Duration) Timer {
	return realTimer{time.NewTimer(d)}
}

type realTimer struct{ t *time.Timer }

func (t realTimer) C() <-chan time.Time { return t.t.C }
func (t realTimer) Stop() bool          { return t.t.Stop() }
