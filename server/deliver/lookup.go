package deliver

import (
	"context"
	"errors"

	"github.com/postern/postern/store"
)

// Lookup says what delivery would make of addr, for a caller that rewrites addresses
// before delivering them (local submission places the machine's names): local is true
// for an address in a local domain, found when resolution reaches someone there (a
// user, an alias, a catch-all; also a disabled user or an alias loop, which delivery
// then refuses with the reason). The lookups are the same, through the same cache, as
// Deliver's.
func (a *Agent) Lookup(ctx context.Context, addr string) (local, found bool, err error) {
	if _, err := store.NormalizeAddress(addr); err != nil {
		// Not an address of ours (a single-label host name as the domain: root@box), or a
		// local part no user can have.
		_, d := store.SplitAddress(addr)
		if d, err = store.NormalizeDomain(d); err != nil {
			return false, false, nil
		}
		local, err := a.recipients.dir.HasDomain(ctx, d)
		return local, false, err
	}
	_, err = a.recipients.Expand(ctx, addr)
	switch {
	case err == nil, errors.Is(err, errDisabled), errors.Is(err, errAliasLoop):
		return true, true, nil
	case errors.Is(err, errNotLocal):
		return false, false, nil
	case errors.Is(err, errUnknownRecipient):
		return true, false, nil
	}
	return false, false, err
}
