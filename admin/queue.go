package admin

import (
	"context"

	"github.com/postern/postern/smtp/queue"
)

const (
	cmdQueueList    = "queue.list"
	cmdQueueShow    = "queue.show"
	cmdQueueFlush   = "queue.flush"
	cmdQueueRetry   = "queue.retry"
	cmdQueueHold    = "queue.hold"
	cmdQueueRelease = "queue.release"
	cmdQueueDelete  = "queue.delete"
)

// QueueBackend inspects and steers the outbound queue, like Postfix's mailq, postqueue
// and postsuper. Message ids are the queue's; an unknown id is CodeNotFound.
type QueueBackend interface {
	ListQueue(ctx context.Context) ([]queue.Info, error)
	ShowQueue(ctx context.Context, id string) (QueuedMessage, error)
	// FlushQueue makes every waiting message due now and returns how many were.
	FlushQueue(ctx context.Context) (int, error)
	RetryQueued(ctx context.Context, id string) error
	HoldQueued(ctx context.Context, id string) error
	ReleaseQueued(ctx context.Context, id string) error
	// DeleteQueued removes a message without sending any bounce.
	DeleteQueued(ctx context.Context, id string) error
}

// QueuedMessage is one queued message with its header section (the body is not sent:
// it may be large and is the sender's business).
type QueuedMessage struct {
	queue.Info
	Headers string `json:"headers"`
}

// FlushResult is the answer to queue.flush.
type FlushResult struct {
	Rescheduled int `json:"rescheduled"`
}

type queueIDArgs struct {
	ID string `json:"id"`
}

func queueCommands() map[string]handler {
	byID := func(fn func(Backend) func(context.Context, string) error) handler {
		return bind(func(ctx context.Context, b Backend, a queueIDArgs) (empty, error) {
			if err := need("queue id", a.ID); err != nil {
				return empty{}, err
			}
			return empty{}, fn(b)(ctx, a.ID)
		})
	}
	return map[string]handler{
		cmdQueueList: bind(func(ctx context.Context, b Backend, _ struct{}) ([]queue.Info, error) {
			l, err := b.ListQueue(ctx)
			return nonNil(l), err
		}),
		cmdQueueShow: bind(func(ctx context.Context, b Backend, a queueIDArgs) (QueuedMessage, error) {
			if err := need("queue id", a.ID); err != nil {
				return QueuedMessage{}, err
			}
			return b.ShowQueue(ctx, a.ID)
		}),
		cmdQueueFlush: bind(func(ctx context.Context, b Backend, _ struct{}) (FlushResult, error) {
			n, err := b.FlushQueue(ctx)
			return FlushResult{Rescheduled: n}, err
		}),
		cmdQueueRetry:   byID(func(b Backend) func(context.Context, string) error { return b.RetryQueued }),
		cmdQueueHold:    byID(func(b Backend) func(context.Context, string) error { return b.HoldQueued }),
		cmdQueueRelease: byID(func(b Backend) func(context.Context, string) error { return b.ReleaseQueued }),
		cmdQueueDelete:  byID(func(b Backend) func(context.Context, string) error { return b.DeleteQueued }),
	}
}

// ListQueue lists every queued message, oldest first.
func (c *Client) ListQueue(ctx context.Context) ([]queue.Info, error) {
	var l []queue.Info
	err := c.call(ctx, cmdQueueList, nil, &l)
	return l, err
}

// ShowQueue describes one queued message and returns its header section.
func (c *Client) ShowQueue(ctx context.Context, id string) (QueuedMessage, error) {
	var m QueuedMessage
	err := c.call(ctx, cmdQueueShow, queueIDArgs{ID: id}, &m)
	return m, err
}

// FlushQueue makes every waiting message due now; it returns how many were rescheduled.
func (c *Client) FlushQueue(ctx context.Context) (int, error) {
	var r FlushResult
	err := c.call(ctx, cmdQueueFlush, nil, &r)
	return r.Rescheduled, err
}

// RetryQueued makes one waiting message due now.
func (c *Client) RetryQueued(ctx context.Context, id string) error {
	return c.call(ctx, cmdQueueRetry, queueIDArgs{ID: id}, nil)
}

// HoldQueued stops delivery attempts for a message until ReleaseQueued.
func (c *Client) HoldQueued(ctx context.Context, id string) error {
	return c.call(ctx, cmdQueueHold, queueIDArgs{ID: id}, nil)
}

// ReleaseQueued undoes HoldQueued and makes the message due now.
func (c *Client) ReleaseQueued(ctx context.Context, id string) error {
	return c.call(ctx, cmdQueueRelease, queueIDArgs{ID: id}, nil)
}

// DeleteQueued removes a message from the queue without a bounce.
func (c *Client) DeleteQueued(ctx context.Context, id string) error {
	return c.call(ctx, cmdQueueDelete, queueIDArgs{ID: id}, nil)
}
