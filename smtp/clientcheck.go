package smtp

import (
	"context"
	"log/slog"
	"net/netip"
	"sync"
)

// ClientCheck is asked about each client of the MX role outside
// TrustedNetworks as soon as it connects: a DNSBL lookup. The check runs in
// the background while the session starts; a refusal (a *ReplyError, e.g. 554
// 5.7.1) is then answered to every RCPT TO of the connection, as Postfix does
// with smtpd_delay_reject, so the log records what the client tried to send.
// Any other error lets the client through and is logged: a blocklist that
// cannot be reached blocks nobody.
type ClientCheck interface {
	CheckClient(ctx context.Context, ip netip.Addr) error
}

// RateLimiter counts messages and recipients per client and answers when a
// rate is exceeded (450 4.7.1 at MAIL, 452 4.5.3 at RCPT). It sees every
// session; server/ decides whose rate is counted (the IP on the MX role, the
// user on submission) and whom it exempts.
type RateLimiter interface {
	// Message is called at MAIL FROM, after the sender passed its checks.
	Message(s *Session) error
	// Recipient is called at RCPT TO, after the syntax check and before the
	// Policy, so that a dictionary attack on unknown users is counted too.
	Recipient(s *Session) error
}

// startClientCheck runs Options.ClientCheck for c in the background; the
// returned function waits for its verdict (nil for a client that may send).
func (s *Server) startClientCheck(c *conn) func() *ReplyError {
	if s.opts.ClientCheck == nil || s.opts.Role != RoleMX || c.trusted || !c.remote.IsValid() {
		return func() *ReplyError { return nil }
	}
	done := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), s.opts.LookupTimeout)
		defer cancel()
		done <- s.opts.ClientCheck.CheckClient(ctx, c.remote.Addr())
	}()
	return sync.OnceValue(func() *ReplyError {
		err := <-done
		if err == nil {
			return nil
		}
		if r, ok := err.(*ReplyError); ok {
			// The DNSBL hit, once per connection, for the trace (the reject line follows
			// at RCPT).
			c.log(slog.LevelInfo, "client listed", slog.Int(KeyCode, r.Code), slog.String(KeyReason, r.Message))
			return r
		}
		c.log(slog.LevelWarn, "client check failed", slog.String(KeyReason, err.Error()))
		return nil
	})
}

// clientVerdict is the ClientCheck's answer about the client, nil when it may
// send or was not checked.
func (c *conn) clientVerdict() *ReplyError {
	if c.verdict == nil {
		return nil
	}
	return c.verdict()
}
