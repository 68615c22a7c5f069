package outbound

import (
	"context"
	"fmt"
	"io"
	"log/slog"

	"github.com/postern/postern/server/config"
	"github.com/postern/postern/smtp/queue"
	"github.com/postern/postern/smtp/relay"
)

// Outbound is the durable queue and the relay clients that empty it.
type Outbound struct {
	q      *queue.Queue
	router *router
	log    *slog.Logger
}

// Bouncer delivers the DSNs the queue makes for failed and delayed recipients, with the
// null sender (so that a bounce never bounces): to a local sender at once, to anyone else
// through the queue again.
type Bouncer interface {
	ReturnToSender(ctx context.Context, b *queue.Bounce) error
}

// Open builds a relay client per way out the config uses (reading every password file,
// so that a bad one stops the start) and opens the queue in cfg.QueueDir().
// The queue's delivery events go to events.
func Open(cfg *config.Config, getenv func(string) string, log *slog.Logger, dns relay.Resolver, events queue.EventSink) (*Outbound, error) {
	ropts, err := routeOptions(cfg, getenv, log, dns)
	if err != nil {
		return nil, err
	}
	rt, err := newRouter(cfg, ropts, log.With("service", "relay"))
	if err != nil {
		return nil, fmt.Errorf("relay: %w", err)
	}
	minB, maxB, life, warn := cfg.Queue.Durations()
	q, err := queue.Open(cfg.QueueDir(), queue.Options{
		Transport:      rt,
		Hostname:       cfg.Hostname,
		Logger:         log.With("service", "queue"),
		Events:         events,
		MinBackoff:     minB,
		MaxBackoff:     maxB,
		Lifetime:       life,
		DelayWarning:   warn,
		MaxConcurrency: cfg.Queue.MaxConcurrency,
		MaxMessageSize: cfg.SMTP.MessageSizeLimit + 1<<20, // our headers on top of the limit
	})
	if err != nil {
		rt.close()
		return nil, err
	}
	return &Outbound{q: q, router: rt, log: log}, nil
}

// Enqueue writes a message for remote recipients durably and returns its queue id.
func (o *Outbound) Enqueue(ctx context.Context, env queue.Envelope, body io.Reader) (string, error) {
	return o.q.Enqueue(ctx, env, body)
}

// Queue is the queue itself, for the admin commands and the metrics.
func (o *Outbound) Queue() *queue.Queue { return o.q }

// Run is the queue's scheduler, handing its DSNs to b; it returns when ctx ends.
func (o *Outbound) Run(ctx context.Context, b Bouncer) error {
	return o.q.Run(ctx, bounceAdapter{b})
}

// bounceAdapter is the Bouncer as the queue calls it.
type bounceAdapter struct{ b Bouncer }

func (a bounceAdapter) Bounce(ctx context.Context, bn *queue.Bounce) error {
	return a.b.ReturnToSender(ctx, bn)
}

// Close closes the queue (after Run has returned) and the relay clients.
func (o *Outbound) Close() {
	if err := o.q.Close(); err != nil {
		o.log.Warn("closing queue", "err", err)
	}
	o.router.close()
}
