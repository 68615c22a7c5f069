package admin

import "context"

const (
	cmdAliasAdd    = "alias.add"
	cmdAliasList   = "alias.list"
	cmdAliasRemove = "alias.remove"
)

type aliasArgs struct {
	Source  string   `json:"source"`
	Targets []string `json:"targets,omitempty"`
}

type aliasListArgs struct {
	Domain string `json:"domain,omitempty"`
}

func aliasCommands() map[string]handler {
	return map[string]handler{
		cmdAliasAdd: bind(func(ctx context.Context, b Backend, a aliasArgs) (Alias, error) {
			if err := need("alias source", a.Source); err != nil {
				return Alias{}, err
			}
			if len(a.Targets) == 0 {
				return Alias{}, Errorf(CodeInvalid, "", "an alias needs at least one target")
			}
			return b.AddAlias(ctx, a.Source, a.Targets)
		}),
		cmdAliasList: bind(func(ctx context.Context, b Backend, a aliasListArgs) ([]Alias, error) {
			as, err := b.ListAliases(ctx, a.Domain)
			return nonNil(as), err
		}),
		cmdAliasRemove: bind(func(ctx context.Context, b Backend, a aliasArgs) (empty, error) {
			if err := need("alias source", a.Source); err != nil {
				return empty{}, err
			}
			return empty{}, b.RemoveAlias(ctx, a.Source, a.Targets)
		}),
	}
}

// AddAlias adds targets to the alias source, creating it if needed.
func (c *Client) AddAlias(ctx context.Context, source string, targets []string) (Alias, error) {
	var a Alias
	err := c.call(ctx, cmdAliasAdd, aliasArgs{Source: source, Targets: targets}, &a)
	return a, err
}

// ListAliases lists the aliases of domain, or of every domain when domain is "".
func (c *Client) ListAliases(ctx context.Context, domain string) ([]Alias, error) {
	var as []Alias
	err := c.call(ctx, cmdAliasList, aliasListArgs{Domain: domain}, &as)
	return as, err
}

// RemoveAlias removes the given targets from source, or the whole alias when none given.
func (c *Client) RemoveAlias(ctx context.Context, source string, targets []string) error {
	return c.call(ctx, cmdAliasRemove, aliasArgs{Source: source, Targets: targets}, nil)
}
