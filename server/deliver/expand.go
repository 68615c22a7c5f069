package deliver

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/postern/postern/store"
)

// maxAliasDepth bounds alias nesting (an alias whose target is an alias...). Postfix's
// virtual_alias_recursion_limit is 1000; real setups nest two or three levels, and a
// small limit keeps a misconfigured loop cheap.
const maxAliasDepth = 10

// maxExpansion bounds how many addresses one recipient may expand to.
const maxExpansion = 1000

// targetKind says where a resolved recipient goes.
type targetKind int

const (
	// targetLocal is one of our users: delivered into their Maildir.
	targetLocal targetKind = iota
	// targetExternal is an address in another domain reached through an alias: forwarded
	// through the outbound queue.
	targetExternal
)

// target is one final destination of a recipient.
type target struct {
	Kind    targetKind
	Address string // the user's address (local) or the external address
	Detail  string // the +detail of the address that reached this user, if any
	Via     string // how it was reached, for the log: "alias a@x", "+detail", "catch-all @x" ("" directly)
}

// reached prefixes how each of ts was reached with step.
func reached(step string, ts []target) []target {
	for i := range ts {
		if ts[i].Via == "" {
			ts[i].Via = step
		} else {
			ts[i].Via = step + " -> " + ts[i].Via
		}
	}
	return ts
}

// expansion is what one envelope recipient resolves to.
type expansion struct {
	Recipient string   // as normalised
	Targets   []target // deduplicated; never empty when err is nil
}

// errUnknownRecipient is returned for a local-domain address nobody receives.
var errUnknownRecipient = errors.New("unknown recipient")

// errNotLocal is returned for an address whose domain is not one of ours.
var errNotLocal = errors.New("not a local domain")

// errDisabled is returned for a disabled user.
var errDisabled = errors.New("mailbox disabled")

// errAliasLoop is returned when alias expansion loops or nests too deep.
var errAliasLoop = errors.New("alias loop or nesting too deep")

// addressStore is what resolution needs from the store (or the Directory in front of it).
type addressStore interface {
	HasDomain(ctx context.Context, name string) (bool, error)
	GetUser(ctx context.Context, address string) (store.User, error)
	AliasTargets(ctx context.Context, source string) ([]string, error)
}

// expander turns an envelope recipient into final targets, in the order Postfix's
// virtual(5) lookups and Dovecot's users make familiar: the exact user, then an alias of
// the exact address, then the same two for the address without its +detail, then the
// domain's catch-all alias (@domain). Alias targets are resolved again, so aliases nest;
// a loop or too deep a nesting is an error rather than a silent drop.
type expander struct {
	dir       addressStore
	delimiter string // recipient_delimiter; "" = no subaddressing
	srs       *srs   // nil: SRS addresses are not recognised
}

// Expand resolves one recipient address to its targets.
func (r *expander) Expand(ctx context.Context, rcpt string) (expansion, error) {
	addr, err := store.NormalizeAddress(rcpt)
	if err != nil {
		return expansion{}, fmt.Errorf("%w: %v", errUnknownRecipient, err)
	}
	res := expansion{Recipient: addr}
	_, domain := store.SplitAddress(addr)
	local, err := r.dir.HasDomain(ctx, domain)
	if err != nil {
		return res, err
	}
	if !local {
		return res, errNotLocal
	}
	seen := map[string]bool{}
	targets, err := r.expand(ctx, addr, 0, seen)
	if err != nil {
		return res, err
	}
	res.Targets = dedupeTargets(targets)
	if len(res.Targets) == 0 {
		// Every branch led back to an address already on its path: a pure alias loop.
		return res, errAliasLoop
	}
	return res, nil
}

// expand resolves one local-domain address to its targets.
func (r *expander) expand(ctx context.Context, addr string, depth int, seen map[string]bool) ([]target, error) {
	if depth > maxAliasDepth || len(seen) > maxExpansion {
		return nil, errAliasLoop
	}
	if seen[addr] {
		// The same address reached twice along one path is a loop; reached along two
		// branches it is simply one destination, and dedupeTargets merges it.
		return nil, nil
	}
	seen[addr] = true
	defer delete(seen, addr)

	local, domain := store.SplitAddress(addr)
	if r.srs != nil {
		// A bounce (or reply) to a sender address we rewrote when forwarding goes back to
		// the original sender; a forged or expired one is an unknown user.
		if orig, err := r.srs.Reverse(local); err == nil {
			return []target{{Kind: targetExternal, Address: orig, Via: "SRS " + addr}}, nil
		} else if !errors.Is(err, errSRS) || len(local) > 5 && strings.EqualFold(local[:5], "SRS0=") {
			return nil, fmt.Errorf("%w: %w", errUnknownRecipient, err)
		}
	}
	base, detail := local, ""
	if r.delimiter != "" {
		if i := strings.Index(local, r.delimiter); i > 0 {
			base, detail = local[:i], local[i+len(r.delimiter):]
		}
	}
	candidates := []struct{ addr, detail string }{{addr, ""}}
	if base != local {
		candidates = append(candidates, struct{ addr, detail string }{base + "@" + domain, detail})
	}
	for _, c := range candidates {
		t, found, err := r.lookup(ctx, c.addr, c.detail, depth, seen)
		if found || err != nil {
			if c.detail != "" {
				t = reached(addr+" is "+c.addr+" +"+c.detail, t)
			}
			return t, err
		}
	}
	// The catch-all applies to addresses that are nobody's, with their +detail kept.
	targets, err := r.dir.AliasTargets(ctx, "@"+domain)
	if err != nil {
		return nil, err
	}
	if len(targets) == 0 {
		return nil, errUnknownRecipient
	}
	t, err := r.expandAlias(ctx, targets, depth, seen)
	return reached("catch-all @"+domain, t), err
}

// lookup tries addr as a user, then as an alias source.
func (r *expander) lookup(ctx context.Context, addr, detail string, depth int, seen map[string]bool) ([]target, bool, error) {
	u, err := r.dir.GetUser(ctx, addr)
	switch {
	case err == nil:
		if u.Disabled {
			return nil, true, errDisabled
		}
		return []target{{Kind: targetLocal, Address: u.Address, Detail: detail}}, true, nil
	case !errors.Is(err, store.ErrNotFound):
		return nil, true, err
	}
	targets, err := r.dir.AliasTargets(ctx, addr)
	if err != nil {
		return nil, true, err
	}
	if len(targets) == 0 {
		return nil, false, nil
	}
	t, err := r.expandAlias(ctx, targets, depth, seen)
	t = reached("alias "+addr, t)
	// Like Postfix's propagate_unmatched_extensions: postmaster+x -> alice gives alice's
	// copy the detail "x", so her Sieve script can still sort by it.
	for i := range t {
		if t[i].Kind == targetLocal && t[i].Detail == "" {
			t[i].Detail = detail
		}
	}
	return t, true, err
}

func (r *expander) expandAlias(ctx context.Context, targets []string, depth int, seen map[string]bool) ([]target, error) {
	var out []target
	for _, t := range targets {
		_, domain := store.SplitAddress(t)
		local, err := r.dir.HasDomain(ctx, domain)
		if err != nil {
			return nil, err
		}
		if !local {
			out = append(out, target{Kind: targetExternal, Address: t})
			continue
		}
		sub, err := r.expand(ctx, t, depth+1, seen)
		if err != nil {
			return nil, fmt.Errorf("alias target %s: %w", t, err)
		}
		out = append(out, sub...)
	}
	if len(out) > maxExpansion {
		return nil, errAliasLoop
	}
	return out, nil
}

// dedupeTargets keeps the first of equal targets: one copy per user, whatever the paths.
func dedupeTargets(ts []target) []target {
	seen := make(map[string]bool, len(ts))
	out := ts[:0]
	for _, t := range ts {
		key := fmt.Sprint(t.Kind) + t.Address
		if seen[key] {
			continue
		}
		seen[key] = true
		out = append(out, t)
	}
	return out
}
