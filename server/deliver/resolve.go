package deliver

import (
	"context"
	"errors"
)

// Resolved is what one recipient resolves to, for sendmail -bv: what Deliver would do
// with it, without delivering.
type Resolved struct {
	Recipient string // as normalised
	// Local is true for an address in one of our domains; false: it would be relayed.
	Local   bool
	Targets []ResolvedTarget // where a local address goes; never empty when Local
}

// ResolvedTarget is one final destination of a local recipient.
type ResolvedTarget struct {
	Address string
	// Mailbox is true for one of our users; false: an alias target in another domain,
	// forwarded through the queue.
	Mailbox bool
	// Via is how it was reached: "alias a@x", "a+b@x is a@x +b", "catch-all @x", chained
	// with " -> "; "" when the recipient is the user.
	Via string
}

// Resolve resolves rcpt the way Deliver does, through the same lookups and cache. A
// recipient delivery would refuse is the error, with the reply Deliver would give (550
// for an unknown or disabled user or an alias loop, 451 for a failed lookup).
func (a *Agent) Resolve(ctx context.Context, rcpt string) (Resolved, error) {
	res, err := a.recipients.Expand(ctx, rcpt)
	if errors.Is(err, errNotLocal) {
		return Resolved{Recipient: res.Recipient}, nil
	}
	if err != nil {
		return Resolved{Recipient: rcpt, Local: true}, recipientReply(rcpt, err)
	}
	out := Resolved{Recipient: res.Recipient, Local: true}
	for _, t := range res.Targets {
		out.Targets = append(out.Targets, ResolvedTarget{Address: t.Address, Mailbox: t.Kind == targetLocal, Via: t.Via})
	}
	return out, nil
}
