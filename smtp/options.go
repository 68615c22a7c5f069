package smtp

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"github.com/postern/postern/event"
	"log/slog"
	"net"
	"net/netip"
	"time"
)

// Role says which protocol and which rules a Server applies.
type Role int

const (
	// RoleMX receives mail from the internet on port 25 (RFC 5321): no AUTH, the
	// HELO and sender checks apply to clients outside TrustedNetworks.
	RoleMX Role = iota + 1
	// RoleLMTP receives mail from another MTA (RFC 2033): LHLO instead of EHLO, one
	// reply per recipient after the final dot, no HELO or sender checks. On a unix
	// socket its permissions are the authorisation; over TCP only TrustedNetworks are
	// served, anyone else is answered 554 5.7.1 before taking a ConnLimiter slot.
	RoleLMTP
	// RoleSubmission takes mail from users' clients on port 587 (RFC 6409):
	// STARTTLS is required before AUTH, AUTH before MAIL, and the sender must be
	// one of the user's addresses (see submission.go).
	RoleSubmission
	// RoleSubmissions is RoleSubmission on port 465 with implicit TLS (RFC 8314
	// section 3.3): Serve wraps each accepted connection in TLS itself.
	RoleSubmissions
)

// String returns the name used in logs ("mx", "lmtp", "submission", "submissions").
func (r Role) String() string {
	switch r {
	case RoleMX:
		return "mx"
	case RoleLMTP:
		return "lmtp"
	case RoleSubmission:
		return "submission"
	case RoleSubmissions:
		return "submissions"
	}
	return "unknown"
}

// Listener is the name of r's listener in the config and the mail log's service key:
// "smtp" for the MX role, else the role's name.
func (r Role) Listener() string {
	if r == RoleMX {
		return "smtp"
	}
	return r.String()
}

// EventSink receives the session's events (package event): Received, Rejected, Login.
type EventSink interface {
	Emit(event.Event)
}

// isSubmission reports whether r takes mail from authenticated users.
func (r Role) isSubmission() bool { return r == RoleSubmission || r == RoleSubmissions }

// Resolver is the DNS a Server needs; *net.Resolver satisfies it. Tests pass a fake.
type Resolver interface {
	LookupMX(ctx context.Context, name string) ([]*net.MX, error)
	LookupHost(ctx context.Context, host string) ([]string, error)
}

// ReverseResolver is optionally implemented by a Resolver (as *net.Resolver does) to
// look up the client's PTR name for the Received header. Without it the client is
// recorded as "unknown".
type ReverseResolver interface {
	LookupAddr(ctx context.Context, addr string) ([]string, error)
}

// Defaults, from the RFCs they cite.
const (
	// DefaultMaxLineLength is the limit on a text line including CRLF,
	// RFC 5321 section 4.5.3.1.6.
	DefaultMaxLineLength = 1000
	// DefaultMaxHops is how many Received: fields a message may carry, like
	// Postfix's hopcount_limit.
	DefaultMaxHops = 50
	// DefaultCommandTimeout is the server timeout waiting for the next command,
	// RFC 5321 section 4.5.3.2.7.
	DefaultCommandTimeout = 5 * time.Minute
	// DefaultDataTimeout is the limit on each read of message text (a "data
	// block"), RFC 5321 section 4.5.3.2.5.
	DefaultDataTimeout = 3 * time.Minute
	// DefaultDeliverTimeout bounds the work between the final dot and our reply;
	// the client waits 10 minutes (RFC 5321 section 4.5.3.2.6).
	DefaultDeliverTimeout = 10 * time.Minute
	// DefaultMaxMessageBytes is the default message size limit (50 MiB).
	DefaultMaxMessageBytes = 50 << 20
	// DefaultMaxRecipients: RFC 5321 section 4.5.3.1.8 asks for at least 100.
	DefaultMaxRecipients = 100
	// DefaultSpoolThreshold is the size above which message text goes to a file in
	// SpoolDir instead of memory.
	DefaultSpoolThreshold = 1 << 20
	// DefaultLookupTimeout bounds each DNS check.
	DefaultLookupTimeout = 15 * time.Second
	// DefaultMaxAuthFailures is how many failed AUTH attempts a connection gets
	// before it is answered 421 and closed.
	DefaultMaxAuthFailures = 3
	// DefaultMaxHeaderBytes bounds a message's header block (blank line included)
	// on every role: Postfix's header_size_limit, 102400.
	DefaultMaxHeaderBytes = 102400
	// DefaultMaxHeaderFields bounds the fields of a message's header: the fields
	// mimeparse keeps of one header (mimeparse.DefaultLimits().MaxFields).
	DefaultMaxHeaderFields = 1000
	// hardLineSlack is added to MaxLineLength for go-smtp's own line limit, the
	// backstop against a client that sends an endless line (see doc.go).
	hardLineSlack = 64 << 10
)

// ConnLimiter counts open connections. Admit is called for each accepted connection
// with the client's address (the zero Addr for a unix-socket peer) and returns the
// function that frees its slot, or the reason it is refused (answered 421 4.7.0).
type ConnLimiter interface {
	Admit(remote netip.Addr) (release func(), err error)
}

// Options configure a Server. The zero value of each field means its default.
type Options struct {
	// Hostname is our name in the banner, EHLO reply and Received header.
	Hostname string
	// Role selects MX, LMTP or submission behaviour.
	Role Role
	// TLSConfig enables STARTTLS (RFC 3207); nil means STARTTLS is not offered.
	// Required for RoleSubmission (AUTH only after STARTTLS) and RoleSubmissions
	// (the TLS of every connection).
	TLSConfig *tls.Config

	// MaxMessageBytes limits the message size (SIZE, RFC 1870). Default 50 MiB.
	MaxMessageBytes int64
	// MaxRecipients limits RCPT commands per message. Default 100.
	MaxRecipients int
	// ConnLimiter admits or refuses each new connection (in total, per client
	// network; server/limits.Conns). nil admits every connection.
	ConnLimiter ConnLimiter
	// LoginTimeout closes a submission connection that has not authenticated this
	// long after it was accepted; 0 means no limit. Other roles ignore it.
	LoginTimeout time.Duration
	// MaxLineLength limits each line of message text in octets including CRLF
	// (RFC 5321 section 4.5.3.1.6). Default 1000.
	MaxLineLength int

	// CommandTimeout is the per-read timeout while waiting for a command.
	CommandTimeout time.Duration
	// DataTimeout is the per-read timeout while message text is arriving. It is
	// reset by every read: a slow but live client is never cut off.
	DataTimeout time.Duration
	// DeliverTimeout is the deadline of the context given to Deliverer.Deliver.
	DeliverTimeout time.Duration
	// LookupTimeout bounds each DNS lookup.
	LookupTimeout time.Duration

	// TrustedNetworks are clients that skip the HELO and sender checks (like
	// Postfix's mynetworks), and on RoleLMTP over TCP the only clients served.
	// Session.Trusted tells the Policy.
	TrustedNetworks []netip.Prefix
	// RejectUnknownSenderDomain refuses MAIL FROM domains with no MX and no A/AAAA.
	RejectUnknownSenderDomain bool
	// Resolver is used for the sender-domain check and the client's PTR name.
	// nil means net.DefaultResolver.
	Resolver Resolver

	// Policy decides each RCPT TO; required.
	Policy Policy
	// Deliverer stores accepted messages; required.
	Deliverer Deliverer
	// Filters inspect each message from an untrusted MX client before it is
	// delivered (see Filter), in order.
	Filters []Filter
	// ClientCheck is asked about each untrusted MX client at connect (a DNSBL);
	// its refusal is answered at RCPT. nil checks nothing.
	ClientCheck ClientCheck
	// RateLimiter counts messages (MAIL) and recipients (RCPT) per client or
	// user; nil limits nothing.
	RateLimiter RateLimiter

	// Authenticator checks AUTH credentials; required for the submission roles.
	Authenticator Authenticator
	// SenderPolicy says which sender addresses a user may use; required for the
	// submission roles.
	SenderPolicy SenderPolicy
	// MaxAuthFailures is how many failed AUTH attempts a connection gets; the
	// last one is answered 421 4.7.0 and the connection closed. Default 3.
	MaxAuthFailures int
	// MaxHeaderBytes and MaxHeaderFields bound the header block of every message
	// (octets including the blank line, and fields); a larger header is refused
	// with 552 5.3.4 while the text streams in. Defaults DefaultMaxHeaderBytes and
	// DefaultMaxHeaderFields.
	MaxHeaderBytes  int64
	MaxHeaderFields int

	// SpoolDir holds message text larger than SpoolThreshold while it is
	// delivered. Default os.TempDir().
	SpoolDir string
	// SpoolThreshold is the in-memory limit for message text. Default 1 MiB.
	SpoolThreshold int64

	// Logger receives the mail log (see the package doc for its keys). Default
	// slog.Default().
	Logger *slog.Logger
	// Events receives what the mail log says, typed (for metrics and traces). Nil:
	// none.
	Events EventSink
	// Now is the clock. Default time.Now.
	Now func() time.Time
}

// withDefaults returns a copy of o with every zero field set to its default.
func (o Options) withDefaults() Options {
	if o.Role == 0 {
		o.Role = RoleMX
	}
	if o.Hostname == "" {
		o.Hostname = "localhost"
	}
	if o.MaxMessageBytes <= 0 {
		o.MaxMessageBytes = DefaultMaxMessageBytes
	}
	if o.MaxRecipients <= 0 {
		o.MaxRecipients = DefaultMaxRecipients
	}
	if o.MaxLineLength <= 0 {
		o.MaxLineLength = DefaultMaxLineLength
	}
	if o.CommandTimeout <= 0 {
		o.CommandTimeout = DefaultCommandTimeout
	}
	if o.DataTimeout <= 0 {
		o.DataTimeout = DefaultDataTimeout
	}
	if o.DeliverTimeout <= 0 {
		o.DeliverTimeout = DefaultDeliverTimeout
	}
	if o.LookupTimeout <= 0 {
		o.LookupTimeout = DefaultLookupTimeout
	}
	if o.MaxAuthFailures <= 0 {
		o.MaxAuthFailures = DefaultMaxAuthFailures
	}
	if o.MaxHeaderFields <= 0 {
		o.MaxHeaderFields = DefaultMaxHeaderFields
	}
	if o.MaxHeaderBytes <= 0 {
		o.MaxHeaderBytes = DefaultMaxHeaderBytes
	}
	if o.SpoolThreshold <= 0 {
		o.SpoolThreshold = DefaultSpoolThreshold
	}
	if o.Resolver == nil {
		o.Resolver = net.DefaultResolver
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return o
}

// validate reports options that make a Server unusable.
func (o Options) validate() error {
	if o.Policy == nil || o.Deliverer == nil {
		return errors.New("smtp: Options.Policy and Options.Deliverer are required")
	}
	if !o.Role.isSubmission() {
		return nil
	}
	if o.Authenticator == nil || o.SenderPolicy == nil {
		return fmt.Errorf("smtp: role %s needs Options.Authenticator and Options.SenderPolicy", o.Role)
	}
	if o.TLSConfig == nil {
		// No password crosses the network in clear: without TLS nobody could
		// ever authenticate.
		return fmt.Errorf("smtp: role %s needs Options.TLSConfig", o.Role)
	}
	return nil
}
