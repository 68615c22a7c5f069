package server

import (
	"context"
	"errors"

	"github.com/postern/postern/admin"
	"github.com/postern/postern/smtp/queue"
	"github.com/postern/postern/smtp/relay"
)

// queueAdmin is the part of the admin backend that steers the outbound queue and tests
// the smart host. It is embedded in adminBackend; a zero value (no queue, as in tests of
// the store commands) answers every command with an internal error.
type queueAdmin struct {
	q *queue.Queue
	// relayOptions builds the options of a relay client ("" for [relay], else a
	// [relays.NAME] name) from the current config, reading the password file (or systemd
	// credential) afresh, so that a test after fixing the password needs no restart.
	relayOptions func(name string) (relay.Options, error)
}

var errNoQueue = errors.New("the outbound queue is not running")

const hintQueueList = "see the queue: postern queue list"

func queueError(err error) error {
	if errors.Is(err, queue.ErrNotFound) {
		return admin.NewError(admin.CodeNotFound, hintQueueList, err)
	}
	return err
}

func (b *queueAdmin) ListQueue(context.Context) ([]queue.Info, error) {
	if b.q == nil {
		return nil, errNoQueue
	}
	return b.q.List(), nil
}

func (b *queueAdmin) ShowQueue(_ context.Context, id string) (admin.QueuedMessage, error) {
	if b.q == nil {
		return admin.QueuedMessage{}, errNoQueue
	}
	in, headers, err := b.q.Show(id)
	if err != nil {
		return admin.QueuedMessage{}, queueError(err)
	}
	return admin.QueuedMessage{Info: in, Headers: string(headers)}, nil
}

func (b *queueAdmin) FlushQueue(context.Context) (int, error) {
	if b.q == nil {
		return 0, errNoQueue
	}
	return b.q.Flush(), nil
}

func (b *queueAdmin) byID(id string, fn func(*queue.Queue, string) error) error {
	if b.q == nil {
		return errNoQueue
	}
	return queueError(fn(b.q, id))
}

func (b *queueAdmin) RetryQueued(_ context.Context, id string) error {
	return b.byID(id, (*queue.Queue).Retry)
}

func (b *queueAdmin) HoldQueued(_ context.Context, id string) error {
	return b.byID(id, (*queue.Queue).Hold)
}

func (b *queueAdmin) ReleaseQueued(_ context.Context, id string) error {
	return b.byID(id, (*queue.Queue).Release)
}

func (b *queueAdmin) DeleteQueued(_ context.Context, id string) error {
	return b.byID(id, (*queue.Queue).Delete)
}

// TestRelay runs relay.Diagnose with the daemon's relay options. A config problem (the
// password file unreadable or not private) is reported as a failed "config" step, so
// that the operator sees it next to the other steps.
func (b *queueAdmin) TestRelay(ctx context.Context, to, name string) (relay.Report, error) {
	if b.relayOptions == nil {
		return relay.Report{}, errors.New("the relay client is not configured in this daemon")
	}
	opts, err := b.relayOptions(name)
	if err != nil {
		table := "[relay]"
		if name != "" {
			table = "[relays." + name + "]"
		}
		return relay.Report{Steps: []relay.Step{{Name: "config", Detail: err.Error(),
			Explain: "Fix the " + table + " settings or the password file, then run the test again; no restart is needed for the test."}}}, nil
	}
	return *relay.Diagnose(ctx, opts, to), nil
}
