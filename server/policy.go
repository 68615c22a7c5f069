package server

import (
	"context"
	"errors"

	"github.com/postern/postern/smtp"
)

// recipientPolicy decides RCPT TO for the MX and LMTP listeners (smtp.Policy).
//
// Local domains: the recipient must resolve (user, alias, +detail, catch-all) to
// deliverable targets, and a user already over quota is refused at RCPT (452 4.2.2), the
// cheapest place to say so. Other domains: relaying is refused (554 5.7.1, the classic
// open-relay test) unless the client is in trusted_networks; trusted clients will relay
// through the outbound queue once it exists, and until then get a temporary error, so
// nothing they send is lost.
type recipientPolicy struct {
	agent *deliveryAgent
	role  smtp.Role
}

func (p *recipientPolicy) CheckRecipient(ctx context.Context, s *smtp.Session, from, rcpt string) error {
	res, err := p.agent.resolve.Resolve(ctx, rcpt)
	mayRelay := s.Trusted || s.User != ""
	switch {
	case errors.Is(err, errNotLocal) && p.role == smtp.RoleLMTP:
		return smtp.Reply(550, [3]int{5, 1, 2}, "<%s>: not a domain of this server", rcpt)
	case errors.Is(err, errNotLocal) && mayRelay:
		return smtp.Reply(451, [3]int{4, 3, 0}, "<%s>: Outbound delivery is not available yet", rcpt)
	case err != nil:
		return recipientReply(rcpt, err)
	}
	for _, t := range res.Targets {
		if t.Kind != TargetLocal {
			return externalUnavailable(rcpt)
		}
	}
	for _, t := range res.Targets {
		full, err := p.agent.overQuota(ctx, t.Address, 0)
		if err == nil && full {
			return smtp.Reply(452, [3]int{4, 2, 2}, "<%s>: Mailbox full", rcpt)
		}
	}
	return nil
}
