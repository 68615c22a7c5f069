package deliver

import (
	"context"
	"errors"
	"strings"

	"github.com/postern/postern/smtp"
)

// mayRelay is the relay rule, the one place it is written: a session may send to other
// domains when the client authenticated (submission) or is in trusted_networks (port 25
// from local apps, like Postfix's mynetworks). LMTP never relays.
func mayRelay(s *smtp.Session) bool {
	return s.Role != smtp.RoleLMTP && (s.Trusted || s.User != "")
}

// recipientPolicy decides RCPT TO for every SMTP role (smtp.Policy).
//
// Local domains: the recipient must resolve (user, alias, +detail, catch-all) to
// deliverable targets, and a user already over quota is refused at RCPT (452 4.2.2), the
// cheapest place to say so. Other domains: relaying is refused (554 5.7.1, the classic
// open-relay test) unless mayRelay. Alias targets in other domains are forwarded through
// the queue.
type recipientPolicy struct {
	agent *Agent
	role  smtp.Role
}

// RecipientPolicy is the RCPT TO check of a listener of role.
func (a *Agent) RecipientPolicy(role smtp.Role) smtp.Policy {
	return &recipientPolicy{agent: a, role: role}
}

func (p *recipientPolicy) CheckRecipient(ctx context.Context, s *smtp.Session, from, rcpt string) error {
	if r := p.srsProbe(s, rcpt); r != nil {
		return r
	}
	res, err := p.agent.recipients.Expand(ctx, rcpt)
	if errors.Is(err, errSRS) && p.agent.probes != nil && s.RemoteAddr.IsValid() {
		p.agent.probes.Penalize(s.RemoteAddr.Addr().String())
	}
	switch {
	case errors.Is(err, errNotLocal) && p.role == smtp.RoleLMTP:
		return smtp.Reply(550, [3]int{5, 1, 2}, "<%s>: not a domain of this server", rcpt)
	case errors.Is(err, errNotLocal) && mayRelay(s):
		if p.agent.out == nil {
			return externalUnavailable(rcpt)
		}
		return nil
	case err != nil:
		return recipientReply(rcpt, err)
	}
	for _, t := range res.Targets {
		if t.Kind != targetLocal && p.agent.out == nil {
			return externalUnavailable(rcpt)
		}
	}
	for _, t := range res.Targets {
		if t.Kind != targetLocal {
			continue
		}
		full, err := p.agent.overQuota(ctx, t.Address, 0)
		if err == nil && full {
			return smtp.Reply(452, [3]int{4, 2, 2}, "<%s>: Mailbox full", rcpt)
		}
	}
	return nil
}

// srsProbe refuses every SRS recipient from a network that has sent too many bad
// ones (or failed too many logins), valid or not: the answer then tells a guesser
// nothing.
func (p *recipientPolicy) srsProbe(s *smtp.Session, rcpt string) error {
	if p.agent.probes == nil || !s.RemoteAddr.IsValid() || len(rcpt) < 5 || !strings.EqualFold(rcpt[:5], "SRS0=") {
		return nil
	}
	if p.agent.probes.NetworkLocked(s.RemoteAddr.Addr().String()) {
		return smtp.Reply(450, [3]int{4, 7, 1}, "<%s>: Recipient address rejected: too many invalid addresses from your network; try again later", rcpt)
	}
	return nil
}

// MaySend says which addresses a user may send as (smtp.SenderPolicy): the addresses
// that deliver to them — their own (with any +detail), and every alias or catch-all that
// resolves to them. Postfix calls this smtpd_sender_login_maps; here it is derived from
// the aliases instead of kept as a second table that can drift. The same rule limits a
// vacation reply's :from (checked at upload by SieveCompiler and again at delivery).
func (a *Agent) MaySend(ctx context.Context, user, address string) (bool, error) {
	return a.recipients.maySend(ctx, user, address)
}

func (r *expander) maySend(ctx context.Context, user, address string) (bool, error) {
	if address == user {
		return true, nil
	}
	res, err := r.Expand(ctx, address)
	switch {
	case errors.Is(err, errNotLocal), errors.Is(err, errUnknownRecipient), errors.Is(err, errDisabled), errors.Is(err, errAliasLoop):
		return false, nil
	case err != nil:
		return false, err
	}
	for _, t := range res.Targets {
		if t.Kind == targetLocal && t.Address == user {
			return true, nil
		}
	}
	return false, nil
}

// recipientReply turns a resolution error into the reply for that recipient.
func recipientReply(rcpt string, err error) error {
	switch {
	case errors.Is(err, errUnknownRecipient):
		return smtp.Reply(550, [3]int{5, 1, 1}, "<%s>: Recipient address rejected: User unknown", rcpt)
	case errors.Is(err, errDisabled):
		return smtp.Reply(550, [3]int{5, 2, 1}, "<%s>: Recipient address rejected: Mailbox disabled", rcpt)
	case errors.Is(err, errAliasLoop):
		return smtp.Reply(550, [3]int{5, 4, 6}, "<%s>: Recipient address rejected: Alias loop or nesting too deep", rcpt)
	case errors.Is(err, errNotLocal):
		return smtp.Reply(554, [3]int{5, 7, 1}, "<%s>: Relay access denied", rcpt)
	}
	return smtp.Reply(451, [3]int{4, 3, 0}, "<%s>: Temporary lookup failure", rcpt)
}

// externalUnavailable is the reply for recipients that would leave the server when
// nothing can leave it (an agent without an Enqueuer): temporary, so nothing is lost
// while the sender retries.
func externalUnavailable(rcpt string) error {
	return smtp.Reply(451, [3]int{4, 3, 0}, "<%s>: Forwarding to other domains is not available yet", rcpt)
}
