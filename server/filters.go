package server

import (
	"context"
	"io"
	"log/slog"
	"net"
	"strings"

	"blitiri.com.ar/go/spf"

	"github.com/postern/postern/server/config"
	"github.com/postern/postern/smtp"
	"github.com/postern/postern/smtp/milter"
	"github.com/postern/postern/smtp/senderauth"
)

// senderAuthFilter is the smtp.Filter of the MX role that checks SPF, DKIM and
// DMARC (smtp/senderauth), writes our Authentication-Results field (the smtp
// server removed any that claims our name), and applies the DMARC policy when [dmarc]
// enforce is on: reject -> 550 5.7.1, quarantine -> Envelope.Quarantine (Junk),
// a DNS failure that keeps DMARC from a verdict -> 451 4.7.0.
type senderAuthFilter struct {
	checker *senderauth.Checker
	enforce bool
	spf     bool // [spf] check: without it no envelope sender can be verified
	log     *slog.Logger
}

// newSenderAuthFilter returns the filter for the config, or nil when every
// check is off.
func newSenderAuthFilter(cfg *config.Config, r *net.Resolver, log *slog.Logger) *senderAuthFilter {
	if !cfg.SPF.Check && !cfg.DKIM.Verify && !cfg.DMARC.Check {
		return nil
	}
	return &senderAuthFilter{
		checker: senderauth.New(senderauth.Options{
			AuthServID: cfg.Hostname,
			Resolver:   r,
			SPF:        cfg.SPF.Check,
			DKIM:       cfg.DKIM.Verify,
			DMARC:      cfg.DMARC.Check,
		}),
		enforce: cfg.DMARC.Check && cfg.DMARC.Enforce,
		spf:     cfg.SPF.Check,
		log:     log,
	}
}

func (f *senderAuthFilter) Filter(ctx context.Context, env *smtp.Envelope, msg smtp.Message) (smtp.Message, error) {
	res, err := f.checker.Check(ctx, senderauth.Input{
		IP:       env.Session.RemoteAddr.Addr(),
		HELO:     env.Session.HELO,
		MailFrom: env.From,
		Open:     func() (io.ReadCloser, error) { return msg.Open() },
	})
	if err != nil {
		return nil, err
	}
	f.logResult(env, res)
	env.Auth = senderVerdict(res, env.From, f.spf)
	if f.enforce {
		switch res.Action {
		case senderauth.Reject:
			return nil, smtp.Reply(550, [3]int{5, 7, 1}, "Message rejected: %s", res.Reason)
		case senderauth.Defer:
			return nil, smtp.Reply(451, [3]int{4, 7, 0}, "Temporary failure: %s, try again later", res.Reason)
		case senderauth.Quarantine:
			env.Quarantine = res.Reason
		}
	}
	// Fields forged in our name are already gone (smtp.StripForgedAuthResults
	// runs before the filters, over the whole header).
	return smtp.EditHeader(msg, f.checker.Header(res, env.From), nil, 0)
}

// senderVerdict is what delivery needs of the checks (smtp.SenderAuth): whether the
// envelope sender is confirmed (SPF pass for it, or a DKIM pass whose domain aligns
// with it, relaxed as DMARC aligns), and what failed, whatever the DMARC policy and
// [dmarc] enforce say: mail that failed DMARC, or SPF without a DMARC pass, is never
// sent on. The envelope sender counts as checked only when SPF is checked.
func senderVerdict(res *senderauth.Result, mailFrom string, spfChecked bool) smtp.SenderAuth {
	v := smtp.SenderAuth{Checked: spfChecked}
	_, domain, _ := strings.Cut(mailFrom, "@")
	domain = strings.ToLower(domain)
	if domain != "" && res.SPF.Result == spf.Pass && strings.EqualFold(res.SPF.Domain, domain) {
		v.SenderVerified = true
	}
	for _, d := range res.DKIM {
		if domain != "" && d.Result == "pass" &&
			senderauth.OrganizationalDomain(strings.ToLower(d.Domain)) == senderauth.OrganizationalDomain(domain) {
			v.SenderVerified = true
		}
	}
	switch {
	case res.DMARC.Result == "fail":
		v.Failed = "DMARC fail for " + res.DMARC.Domain
		v.SenderVerified = false
	case res.SPF.Result == spf.Fail && res.DMARC.Result != "pass":
		v.Failed = "SPF fail for " + res.SPF.Domain
	}
	return v
}

// logResult writes one "senderauth" line per message.
func (f *senderAuthFilter) logResult(env *smtp.Envelope, res *senderauth.Result) {
	dkim := make([]string, 0, len(res.DKIM))
	for _, d := range res.DKIM {
		dkim = append(dkim, d.Result+":"+d.Domain)
	}
	f.log.Info("senderauth", smtp.KeySession, env.Session.ID, "id", env.ID, "from", env.From,
		"spf", string(res.SPF.Result), "spf_helo", string(res.SPFHELO.Result), "dkim", strings.Join(dkim, ","),
		"dmarc", res.DMARC.Result, "header_from", res.DMARC.Domain, "policy", res.DMARC.Applied,
		"action", res.Action.String(), "reason", res.Reason)
}

// newMilterFilter returns the [milter] filter, or nil when no milter is set.
func newMilterFilter(cfg *config.Config, log *slog.Logger) *milter.Filter {
	if cfg.Milter.Address == "" {
		return nil
	}
	network, addr := cfg.Milter.Network()
	return milter.New(milter.Options{
		Network:  network,
		Address:  addr,
		Timeout:  cfg.Milter.TimeoutDuration(),
		TempFail: cfg.Milter.DefaultAction == "tempfail",
		Logger:   log,
	})
}
