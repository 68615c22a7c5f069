package server

import (
	"net"

	"github.com/postern/postern/server/config"
	"github.com/postern/postern/server/limits"
)

// connLimits are the connection counters of the listeners ([limits.*] tables): one per
// service, shared by the listeners of that service (587 and 465, 143 and 993), and one
// per HTTP listener. Built once at start.
type connLimits struct {
	cfg         config.Limits
	trusted     config.SMTP
	smtp        *limits.Conns
	submission  *limits.Conns
	lmtp        *limits.Conns
	imap        *limits.Conns
	managesieve *limits.Conns
	imapUsers   *limits.Users
}

func newConnLimits(cfg *config.Config) *connLimits {
	c := &connLimits{cfg: cfg.Limits, trusted: cfg.SMTP}
	l := cfg.Limits
	c.smtp = c.conns(l.SMTP)
	c.submission = c.conns(l.Submission)
	c.lmtp = c.conns(l.LMTP)
	c.imap = c.conns(l.IMAP)
	c.managesieve = c.conns(l.ManageSieve)
	c.imapUsers = limits.NewUsers(l.IMAP.MaxConnectionsPerUserNetwork, l.IMAP.MaxConnectionsPerUserTrustedNetwork, cfg.SMTP.Prefixes(), networks(l))
	return c
}

func networks(l config.Limits) limits.Networks {
	return limits.Networks{V4Bits: l.ClientIPv4Prefix, V6Bits: l.ClientIPv6Prefix}
}

func (c *connLimits) conns(l config.ListenerLimits) *limits.Conns {
	return limits.NewConns(limits.ConnConfig{
		Max: l.MaxConnections, PerNetwork: l.MaxConnectionsPerNetwork, PerTrustedNetwork: l.MaxConnectionsPerTrustedNetwork,
		Trusted: c.trusted.Prefixes(), Networks: networks(c.cfg),
	})
}

// http wraps one HTTP listener in a counter of its own.
func (c *connLimits) http(ln net.Listener) net.Listener {
	return limits.NewListener(ln, c.conns(c.cfg.HTTP))
}

// forSMTP returns the counter and the ([limits.*]) table of an SMTP role's listener.
func (c *connLimits) forSMTP(name string) (*limits.Conns, config.ListenerLimits) {
	switch name {
	case "smtp":
		return c.smtp, c.cfg.SMTP
	case "lmtp":
		return c.lmtp, c.cfg.LMTP
	}
	return c.submission, c.cfg.Submission
}

// newLogins builds the failed-login limiter shared by every protocol.
func newLogins(cfg *config.Config) *limits.Logins {
	l := cfg.Limits
	maxDelay, window := l.AuthDurations()
	return limits.NewLogins(limits.LoginConfig{
		SlowAfter: l.AuthFailuresBeforeDelay, LockAfter: l.AuthFailuresBeforeLockout,
		NetworkLockAfter: l.AuthNetworkFailuresBeforeLockout, AccountSlowAfter: l.AuthAccountFailuresBeforeSlowdown,
		MaxDelay: maxDelay, Window: window, Networks: networks(l), Delimiter: cfg.SMTP.RecipientDelimiter,
	})
}
