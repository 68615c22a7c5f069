package admin

import (
	"context"
	"time"
)

const (
	cmdSieveList     = "sieve.list"
	cmdSieveGet      = "sieve.get"
	cmdSievePut      = "sieve.put"
	cmdSieveActivate = "sieve.activate"
	cmdSieveDelete   = "sieve.delete"
)

// SieveBackend manages users' Sieve scripts, the same ones ManageSieve edits.
type SieveBackend interface {
	ListSieveScripts(ctx context.Context, address string) ([]SieveScript, error)
	GetSieveScript(ctx context.Context, address, name string) (SieveScript, error)
	// PutSieveScript compiles the script and stores it; a broken script is refused
	// (CodeInvalid, the message naming its line and column).
	PutSieveScript(ctx context.Context, address, name, content string) (SieveScript, error)
	// ActivateSieveScript makes name the active script; "" deactivates every script.
	ActivateSieveScript(ctx context.Context, address, name string) error
	// DeleteSieveScript refuses the active script (CodeInUse).
	DeleteSieveScript(ctx context.Context, address, name string) error
}

// SieveScript describes one script; Content is set only by get.
type SieveScript struct {
	Name      string    `json:"name"`
	Active    bool      `json:"active"`
	Size      int64     `json:"size"`
	UpdatedAt time.Time `json:"updated_at,omitzero"`
	Content   string    `json:"content,omitempty"`
}

type sieveArgs struct {
	Address string `json:"address"`
	Name    string `json:"name,omitempty"`
	Content string `json:"content,omitempty"`
}

func sieveCommands() map[string]handler {
	return map[string]handler{
		cmdSieveList: bind(func(ctx context.Context, b Backend, a sieveArgs) ([]SieveScript, error) {
			if err := need("address", a.Address); err != nil {
				return nil, err
			}
			s, err := b.ListSieveScripts(ctx, a.Address)
			return nonNil(s), err
		}),
		cmdSieveGet: bind(func(ctx context.Context, b Backend, a sieveArgs) (SieveScript, error) {
			if err := needAll(a.Address, a.Name); err != nil {
				return SieveScript{}, err
			}
			return b.GetSieveScript(ctx, a.Address, a.Name)
		}),
		cmdSievePut: bind(func(ctx context.Context, b Backend, a sieveArgs) (SieveScript, error) {
			if err := needAll(a.Address, a.Name); err != nil {
				return SieveScript{}, err
			}
			return b.PutSieveScript(ctx, a.Address, a.Name, a.Content)
		}),
		cmdSieveActivate: bind(func(ctx context.Context, b Backend, a sieveArgs) (empty, error) {
			if err := need("address", a.Address); err != nil {
				return empty{}, err
			}
			return empty{}, b.ActivateSieveScript(ctx, a.Address, a.Name)
		}),
		cmdSieveDelete: bind(func(ctx context.Context, b Backend, a sieveArgs) (empty, error) {
			if err := needAll(a.Address, a.Name); err != nil {
				return empty{}, err
			}
			return empty{}, b.DeleteSieveScript(ctx, a.Address, a.Name)
		}),
	}
}

func needAll(address, name string) error {
	if err := need("address", address); err != nil {
		return err
	}
	return need("script name", name)
}

// ListSieveScripts lists a user's Sieve scripts.
func (c *Client) ListSieveScripts(ctx context.Context, address string) ([]SieveScript, error) {
	var s []SieveScript
	err := c.call(ctx, cmdSieveList, sieveArgs{Address: address}, &s)
	return s, err
}

// GetSieveScript returns one script with its content.
func (c *Client) GetSieveScript(ctx context.Context, address, name string) (SieveScript, error) {
	var s SieveScript
	err := c.call(ctx, cmdSieveGet, sieveArgs{Address: address, Name: name}, &s)
	return s, err
}

// PutSieveScript uploads a script (compiled by the daemon first). The admin request
// limit (MaxRequestSize) bounds the script to a little under 64 KiB this way;
// ManageSieve takes larger ones.
func (c *Client) PutSieveScript(ctx context.Context, address, name, content string) (SieveScript, error) {
	var s SieveScript
	err := c.call(ctx, cmdSievePut, sieveArgs{Address: address, Name: name, Content: content}, &s)
	return s, err
}

// ActivateSieveScript makes name the user's active script; "" deactivates all.
func (c *Client) ActivateSieveScript(ctx context.Context, address, name string) error {
	return c.call(ctx, cmdSieveActivate, sieveArgs{Address: address, Name: name}, nil)
}

// DeleteSieveScript deletes a script that is not active.
func (c *Client) DeleteSieveScript(ctx context.Context, address, name string) error {
	return c.call(ctx, cmdSieveDelete, sieveArgs{Address: address, Name: name}, nil)
}
