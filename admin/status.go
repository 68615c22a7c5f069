package admin

import "context"

const cmdStatus = "status"

func statusCommands() map[string]handler {
	return map[string]handler{
		cmdStatus: bind(func(ctx context.Context, b Backend, _ struct{}) (Status, error) {
			return b.Status(ctx)
		}),
	}
}

// Status asks the daemon for its version, pid, paths and bound listener addresses.
func (c *Client) Status(ctx context.Context) (Status, error) {
	var st Status
	err := c.call(ctx, cmdStatus, nil, &st)
	return st, err
}
