package server

import (
	"context"
	"errors"

	"github.com/postern/postern/smtp"
)

// recipientPolicy decides RCPT TO for every SMTP role (smtp.Policy).
//
// Local domains: the recipient must resolve (user, alias, +detail, catch-all) to
// deliverable targets, and a user already over quota is refused at RCPT (452 4.2.2), the
// cheapest place to say so. Other domains: relaying is refused (554 5.7.1, the classic
// open-relay test) unless the client authenticated (submission) or is in
// trusted_networks (port 25 from local apps, like Postfix's mynetworks); LMTP never
// relays. Alias targets in other domains are forwarded through the queue.
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
		if p.agent.out == nil {
			return externalUnavailable(rcpt)
		}
		return nil
	case err != nil:
		return recipientReply(rcpt, err)
	}
	for _, t := range res.Targets {
		if t.Kind != TargetLocal && p.agent.out == nil {
			return externalUnavailable(rcpt)
		}
	}
	for _, t := range res.Targets {
		if t.Kind != TargetLocal {
			continue
		}
		full, err := p.agent.overQuota(ctx, t.Address, 0)
		if err == nil && full {
			return smtp.Reply(452, [3]int{4, 2, 2}, "<%s>: Mailbox full", rcpt)
		}
	}
	return nil
}
