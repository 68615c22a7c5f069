package server

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"net/netip"

	"github.com/postern/postern/server/limits"
	"github.com/postern/postern/smtp"
	"github.com/postern/postern/store"
)

// smtpAuthenticator checks SMTP AUTH through the shared failed-login limiter and the
// store (passwords and app passwords alike). Failures are logged by package smtp's
// "auth" line; lockouts get a temporary 454 so well-behaved clients back off.
type smtpAuthenticator struct {
	store   *store.Store
	limiter *limits.Logins
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

// netAuthenticator is the same login check for protocols that identify the client by
// its net.Addr (ManageSieve).
type netAuthenticator struct {
	store   *store.Store
	limiter *limits.Logins
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
