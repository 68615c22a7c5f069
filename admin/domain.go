package admin

import "context"

const (
	cmdDomainAdd    = "domain.add"
	cmdDomainList   = "domain.list"
	cmdDomainRemove = "domain.remove"
)

type domainArgs struct {
	Name string `json:"name"`
}

func domainCommands() map[string]handler {
	return map[string]handler{
		cmdDomainAdd: bind(func(ctx context.Context, b Backend, a domainArgs) (Domain, error) {
			if err := need("domain name", a.Name); err != nil {
				return Domain{}, err
			}
			return b.AddDomain(ctx, a.Name)
		}),
		cmdDomainList: bind(func(ctx context.Context, b Backend, _ struct{}) ([]Domain, error) {
			ds, err := b.ListDomains(ctx)
			return nonNil(ds), err
		}),
		cmdDomainRemove: bind(func(ctx context.Context, b Backend, a domainArgs) (empty, error) {
			if err := need("domain name", a.Name); err != nil {
				return empty{}, err
			}
			return empty{}, b.RemoveDomain(ctx, a.Name)
		}),
	}
}

// nonNil makes empty listings encode as [] rather than null, which is friendlier to jq.
func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

// AddDomain adds a local mail domain.
func (c *Client) AddDomain(ctx context.Context, name string) (Domain, error) {
	var d Domain
	err := c.call(ctx, cmdDomainAdd, domainArgs{Name: name}, &d)
	return d, err
}

// ListDomains lists the local mail domains.
func (c *Client) ListDomains(ctx context.Context) ([]Domain, error) {
	var ds []Domain
	err := c.call(ctx, cmdDomainList, nil, &ds)
	return ds, err
}

// RemoveDomain removes a domain that has no users or aliases left.
func (c *Client) RemoveDomain(ctx context.Context, name string) error {
	return c.call(ctx, cmdDomainRemove, domainArgs{Name: name}, nil)
}
