package admin

import "context"

const (
	cmdAppPasswordAdd    = "apppassword.add"
	cmdAppPasswordList   = "apppassword.list"
	cmdAppPasswordRevoke = "apppassword.revoke"
)

type appPasswordArgs struct {
	Address string `json:"address"`
	Name    string `json:"name"`
}

func appPasswordCommands() map[string]handler {
	return map[string]handler{
		cmdAppPasswordAdd: bind(func(ctx context.Context, b Backend, a appPasswordArgs) (NewAppPassword, error) {
			if err := needAppPassword(a); err != nil {
				return NewAppPassword{}, err
			}
			return b.AddAppPassword(ctx, a.Address, a.Name)
		}),
		cmdAppPasswordList: bind(func(ctx context.Context, b Backend, a addressArgs) ([]AppPassword, error) {
			if err := need("address", a.Address); err != nil {
				return nil, err
			}
			aps, err := b.ListAppPasswords(ctx, a.Address)
			return nonNil(aps), err
		}),
		cmdAppPasswordRevoke: bind(func(ctx context.Context, b Backend, a appPasswordArgs) (empty, error) {
			if err := needAppPassword(a); err != nil {
				return empty{}, err
			}
			return empty{}, b.RevokeAppPassword(ctx, a.Address, a.Name)
		}),
	}
}

func needAppPassword(a appPasswordArgs) error {
	if err := need("address", a.Address); err != nil {
		return err
	}
	return need("app password name", a.Name)
}

// AddAppPassword creates an app password and returns its secret, which cannot be
// retrieved again.
func (c *Client) AddAppPassword(ctx context.Context, address, name string) (NewAppPassword, error) {
	var ap NewAppPassword
	err := c.call(ctx, cmdAppPasswordAdd, appPasswordArgs{Address: address, Name: name}, &ap)
	return ap, err
}

// ListAppPasswords lists a user's app passwords (names and dates, never secrets).
func (c *Client) ListAppPasswords(ctx context.Context, address string) ([]AppPassword, error) {
	var aps []AppPassword
	err := c.call(ctx, cmdAppPasswordList, addressArgs{Address: address}, &aps)
	return aps, err
}

// RevokeAppPassword deletes one app password by name.
func (c *Client) RevokeAppPassword(ctx context.Context, address, name string) error {
	return c.call(ctx, cmdAppPasswordRevoke, appPasswordArgs{Address: address, Name: name}, nil)
}
