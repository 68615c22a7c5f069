package admin

import (
	"context"

	"github.com/postern/postern/trace"
)

const cmdTrace = "trace"

// TraceBackend finds the stories of messages in the trace store.
type TraceBackend interface {
	Trace(ctx context.Context, q trace.Query) ([]trace.Story, error)
}

func traceCommands() map[string]handler {
	return map[string]handler{
		cmdTrace: bind(func(ctx context.Context, b Backend, q trace.Query) ([]trace.Story, error) {
			if q.MessageID == "" && q.Address == "" && q.QueueID == "" && q.Since.IsZero() && q.Until.IsZero() {
				return nil, Errorf(CodeInvalid, "", "give a Message-ID, an address, a queue id or a time window")
			}
			r, err := b.Trace(ctx, q)
			return nonNil(r), err
		}),
	}
}

// Trace returns the stories of the messages q selects.
func (c *Client) Trace(ctx context.Context, q trace.Query) ([]trace.Story, error) {
	var r []trace.Story
	err := c.call(ctx, cmdTrace, q, &r)
	return r, err
}
