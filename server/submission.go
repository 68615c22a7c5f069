package server

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"net/netip"

	"github.com/postern/postern/smtp"
	"github.com/postern/postern/store"
)

// smtpAuthenticator checks SMTP AUTH through the shared failed-login limiter and the
// store (passwords and app passwords alike). Failures are logged by package smtp's
// "auth" line; lockouts get a temporary 454 so well-behaved clients back off.
type smtpAuthenticator struct {
	store   *store.Store
	limiter *authLimiter
	log     *slog.Logger
}

func (a *smtpAuthenticator) Authenticate(ctx context.Context, s *smtp.Session, username, password string) (string, error) {
	ip := clientIP(s.RemoteAddr)
	if err := a.limiter.Allow(ctx, ip, username); err != nil {
		return "", smtp.Reply(454, [3]int{4, 7, 0}, "Too many failed logins; try again later")
	}
	u, err := a.store.Authenticate(ctx, username, password)
	if errors.Is(err, store.ErrAuthFailed) {
		a.limiter.Record(ip, username, false)
		return "", err
	}
	if err != nil {
		return "", smtp.Reply(454, [3]int{4, 7, 0}, "Temporary authentication failure")
	}
	a.limiter.Record(ip, username, true)
	return u.Address, nil
}

func clientIP(ap netip.AddrPort) string {
	if !ap.IsValid() {
		return "unix"
	}
	return ap.Addr().String()
}

// senderPolicy says which addresses a user may send as: the addresses that deliver to
// them — their own (with any +detail), and every alias or catch-all that resolves to
// them. Postfix calls this smtpd_sender_login_maps; here it is derived from the aliases
// instead of kept as a second table that can drift.
type senderPolicy struct {
	resolve *resolver
}

func (p *senderPolicy) MaySend(ctx context.Context, user, address string) (bool, error) {
	if address == user {
		return true, nil
	}
	res, err := p.resolve.Resolve(ctx, address)
	switch {
	case errors.Is(err, errNotLocal), errors.Is(err, errUnknownRecipient), errors.Is(err, errDisabled), errors.Is(err, errAliasLoop):
		return false, nil
	case err != nil:
		return false, err
	}
	for _, t := range res.Targets {
		if t.Kind == TargetLocal && t.Address == user {
			return true, nil
		}
	}
	return false, nil
}

// netAuthenticator is the same login check for protocols that identify the client by
// its net.Addr (ManageSieve).
type netAuthenticator struct {
	store   *store.Store
	limiter *authLimiter
}

func (a *netAuthenticator) Authenticate(ctx context.Context, remote net.Addr, username, password string) (string, error) {
	ip := "unix"
	if ta, ok := remote.(*net.TCPAddr); ok {
		ip = ta.IP.String()
	}
	if err := a.limiter.Allow(ctx, ip, username); err != nil {
		return "", err
	}
	u, err := a.store.Authenticate(ctx, username, password)
	if err != nil {
		if errors.Is(err, store.ErrAuthFailed) {
			a.limiter.Record(ip, username, false)
		}
		return "", err
	}
	a.limiter.Record(ip, username, true)
	return u.Address, nil
}
