package server

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/postern/postern/localsubmit"
	"github.com/postern/postern/server/config"
	"github.com/postern/postern/server/deliver"
	"github.com/postern/postern/smtp"
)

// verifier is localsubmit.Verifier (sendmail -bv): the delivery agent's resolution, and
// the routes of the config the outbound queue was built from for what leaves.
type verifier struct {
	agent *deliver.Agent
	cfg   *config.Config
}

func (v verifier) Verify(ctx context.Context, rcpt string, full bool) localsubmit.Verdict {
	res, err := v.agent.Resolve(ctx, rcpt)
	if err != nil {
		var re *smtp.ReplyError
		temporary := errors.As(err, &re) && re.Temporary()
		return localsubmit.Verdict{How: "undeliverable: " + err.Error(), Temporary: temporary}
	}
	if !res.Local {
		return localsubmit.Verdict{Deliverable: true, How: "deliverable: " + v.route(res.Recipient)}
	}
	if !full && !directMailbox(res) {
		return localsubmit.Verdict{Deliverable: true,
			How: "deliverable: delivered by this server (an alias; where it leads is shown to root and group postern)"}
	}
	parts := make([]string, 0, len(res.Targets))
	for _, t := range res.Targets {
		var p string
		if t.Mailbox {
			p = "local mailbox " + t.Address
		} else {
			p = "forwarded to " + t.Address + ", " + v.route(t.Address)
		}
		if t.Via != "" {
			p += " (" + t.Via + ")"
		}
		parts = append(parts, p)
	}
	return localsubmit.Verdict{Deliverable: true, How: "deliverable: " + strings.Join(parts, "; ")}
}

// directMailbox is true when the recipient is one user's mailbox, reached without an
// alias or a catch-all (a +detail of the user's own address is still theirs).
func directMailbox(res deliver.Resolved) bool {
	if len(res.Targets) != 1 || !res.Targets[0].Mailbox {
		return false
	}
	via := res.Targets[0].Via
	return via == "" || !strings.Contains(via, "alias") && !strings.Contains(via, "catch-all") && !strings.Contains(via, "->")
}

// route says how mail to addr leaves, by the routes of the config.
func (v verifier) route(addr string) string {
	domain := addr[strings.LastIndexByte(addr, '@')+1:]
	name := v.cfg.RouteFor(domain, "")
	rc := v.cfg.RelayByName(name)
	if name == config.ViaDirect || rc == nil {
		return "relayed directly to the MX hosts of " + domain
	}
	host := rc.Host
	if host == "" {
		host = rc.Provider
	}
	if rc.Port != 0 {
		host = fmt.Sprintf("%s:%d", host, rc.Port)
	}
	table := "[relay]"
	if name != config.ViaRelay {
		table = "[relays." + name + "]"
	}
	return "relayed via smart host " + host + " " + table
}
