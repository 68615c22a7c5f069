package deliver

import (
	"strings"
	"sync"

	"github.com/postern/postern/smtp"
)

// What a received message may make the server send (docs/ARCHITECTURE.md, "Forwarding
// and auto-replies"). Forwarding a forged message with our SRS sender would lend it our
// domain's SPF and DMARC pass, and answering a forged sender is backscatter, so:
//
//   - a message that was quarantined (DMARC p=quarantine, a milter's verdict), failed
//     DMARC (whatever the policy), failed SPF without a DMARC pass, or was scored as
//     spam (X-Spam: Yes, Rspamd's and SpamAssassin's verdict) is held: no alias target
//     in another domain, no Sieve redirect, no notification gets a copy. A recipient
//     with a local mailbox still gets it (a held redirect files it into Junk); a
//     recipient that only forwards is refused with 550 5.7.1;
//   - vacation replies and the agent's DSNs go only to a sender that was not held and,
//     when SPF was checked, is verified (smtp.SenderAuth.SenderVerified).
//
// Mail that was never checked (trusted networks, authenticated users, LMTP, the
// server's own) is held only on an X-Spam verdict.

// onwardCheck answers for one delivery, reading the header (for X-Spam) only when
// something would be sent on.
type onwardCheck struct {
	env    *smtp.Envelope
	parsed *parsedMessage

	once sync.Once
	why  string
}

// held says why nothing may be sent on because of this message; "" when it may.
func (o *onwardCheck) held() string {
	o.once.Do(func() { o.why = o.reason() })
	return o.why
}

func (o *onwardCheck) reason() string {
	switch {
	case o.env.Quarantine != "":
		return "quarantined: " + o.env.Quarantine
	case o.env.Auth.Failed != "":
		return o.env.Auth.Failed
	}
	m, err := o.parsed.get()
	if err != nil {
		return "" // the delivery itself fails on the same error
	}
	for _, v := range m.HeaderFields("x-spam") {
		if strings.HasPrefix(strings.ToLower(strings.TrimSpace(v)), "yes") {
			return "scored as spam (X-Spam: Yes)"
		}
	}
	return ""
}

// mayAnswer says whether the envelope sender may get an auto-reply or a DSN.
func (o *onwardCheck) mayAnswer() (bool, string) {
	if why := o.held(); why != "" {
		return false, why
	}
	if o.env.Auth.Checked && !o.env.Auth.SenderVerified {
		return false, "the sender is not verified (no SPF pass or aligned DKIM signature)"
	}
	return true, ""
}

// holdForwards takes the forwarded copies of a held message out of remote: a recipient
// that also reaches a local user is delivered there only, one that reaches nobody here
// is refused.
func (a *Agent) holdForwards(env *smtp.Envelope, onward *onwardCheck, copies []*userCopy, remote []remoteRcpt, errs []error) []remoteRcpt {
	var keep []remoteRcpt
	held := map[int]bool{}
	for _, r := range remote {
		if !r.forwarded || onward.held() == "" {
			keep = append(keep, r)
			continue
		}
		held[r.idx] = true
		a.log.Warn("not forwarded", smtp.KeySession, env.Session.ID, "id", env.ID, "from", env.From,
			"rcpt", env.Recipients[r.idx], "to", r.to, "reason", onward.held())
	}
	if len(held) == 0 {
		return remote
	}
	local := map[int]bool{}
	for _, c := range copies {
		for _, i := range c.rcpts {
			local[i] = true
		}
	}
	for i := range held {
		if !local[i] && errs[i] == nil {
			errs[i] = smtp.Reply(550, [3]int{5, 7, 1}, "<%s>: Message not forwarded: %s", env.Recipients[i], onward.held())
		}
	}
	return keep
}

// holdBack strips from a held message's decision what would leave the server:
// redirects (a copy goes into Junk instead, unless the script keeps one anyway),
// notifications and the vacation reply.
func holdBack(d decision) decision {
	if len(d.Redirects) > 0 && len(d.Placements) == 0 && d.Reject == "" {
		d.Placements = []placement{{Mailbox: junkMailbox, Create: true}}
	}
	d.Redirects, d.RedirectBy, d.Notifies, d.Vacation = nil, nil, nil, nil
	return d
}
