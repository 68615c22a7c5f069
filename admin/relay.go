package admin

import (
	"context"

	"github.com/postern/postern/smtp/relay"
)

const cmdRelayTest = "relay.test"

// RelayBackend checks the smart host. The daemon runs the test because only it can read
// the relay password (a private file or a systemd credential).
type RelayBackend interface {
	// TestRelay connects to the configured relay step by step (DNS, TCP, TLS and the
	// certificate, EHLO, STARTTLS, AUTH) and, when to is not "", sends a test message to
	// it. name picks a [relays.NAME] table; "" is [relay]. A failing step is a Report
	// with OK false, not an error: errors are for when the test could not be run at all.
	TestRelay(ctx context.Context, to, name string) (relay.Report, error)
}

type relayTestArgs struct {
	To    string `json:"to,omitempty"`
	Relay string `json:"relay,omitempty"`
}

func relayCommands() map[string]handler {
	return map[string]handler{
		cmdRelayTest: bind(func(ctx context.Context, b Backend, a relayTestArgs) (relay.Report, error) {
			r, err := b.TestRelay(ctx, a.To, a.Relay)
			if r.Steps == nil {
				r.Steps = []relay.Step{}
			}
			return r, err
		}),
	}
}

// TestRelay asks the daemon to test its smart host ([relay], or the [relays.NAME] table
// name when it is not ""), optionally sending a message to to.
func (c *Client) TestRelay(ctx context.Context, to, name string) (relay.Report, error) {
	var r relay.Report
	err := c.call(ctx, cmdRelayTest, relayTestArgs{To: to, Relay: name}, &r)
	return r, err
}
