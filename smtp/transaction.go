package smtp

import (
	"context"
	"crypto/tls"
	"io"
	"net/netip"
	"time"
)

// Session describes the client of one SMTP/LMTP session. Callbacks receive it and
// must not modify it.
type Session struct {
	// ID identifies the connection in every log line ("sid").
	ID string
	// Role is the listener's role.
	Role Role
	// RemoteAddr is the client's address; the zero value for a unix-socket peer.
	RemoteAddr netip.AddrPort
	// ReverseName is the client's forward-confirmed PTR name, or "" when unknown.
	ReverseName string
	// Trusted is true for clients in Options.TrustedNetworks and unix-socket peers.
	Trusted bool
	// HELO is the name the client gave in HELO, EHLO or LHLO.
	HELO string
	// ESMTP is true when the client greeted with EHLO or LHLO.
	ESMTP bool
	// TLS is the connection state after STARTTLS (or of implicit TLS), nil
	// without TLS.
	TLS *tls.ConnectionState
	// User is the canonical address Authenticator returned after a successful
	// AUTH (submission roles), "" before AUTH and on the other roles.
	User string
	// Hostname is our own name (Options.Hostname).
	Hostname string
	// Start is when the connection was accepted.
	Start time.Time
}

// Policy decides who may receive mail through this server.
type Policy interface {
	// CheckRecipient is called at RCPT TO with the normalised recipient (domain
	// lower-cased). On the submission roles it is called too, after AUTH, with
	// Session.User set: any recipient may be allowed there (the user sends to the
	// world), but the Policy can still refuse (a blocked domain, a rate limit). Return nil to accept it, or a *ReplyError to refuse it (e.g.
	// 550 5.1.1 unknown user, 554 5.7.1 relay access denied). Any other error
	// becomes 451 4.3.0.
	CheckRecipient(ctx context.Context, s *Session, from string, rcpt string) error
}

// Envelope is one mail transaction.
type Envelope struct {
	// ID identifies the transaction: the session id and a sequence number.
	ID      string
	Session *Session
	// From is the normalised reverse-path; "" is the null sender <>.
	From string
	// Recipients are the accepted, normalised forward-paths in the order given.
	Recipients []string
	// Body8Bit is true for BODY=8BITMIME (RFC 6152).
	Body8Bit bool
	// SMTPUTF8 is true when MAIL FROM carried SMTPUTF8 (RFC 6531).
	SMTPUTF8 bool
	// Received is when the message text was complete.
	Received time.Time
	// Quarantine, set by a Filter, says why the message is suspicious (e.g. the
	// sender's DMARC policy is quarantine); the Deliverer files it as spam
	// (Junk) instead of into the inbox. "" for normal delivery.
	Quarantine string
	// Auth is what sender authentication (a Filter) found about a message from the
	// internet, for what delivery may send on (forwards, redirects) and answer
	// (vacation, DSNs). The zero value means nothing was checked: trusted clients,
	// authenticated users, LMTP and the server's own mail.
	Auth SenderAuth
	// OwnReports is set by a caller that tells the sender of each recipient's failure
	// itself (local submission): the Deliverer then sends no DSN for recipients it
	// refuses after accepting others, as it does for one-reply roles.
	OwnReports bool
	// LocalUID is the local user who submitted the message with sendmail (the kernel's
	// uid of the caller, never a claim); the queue records it so that mailq can show a
	// user their own messages. nil for mail from anywhere else.
	LocalUID *uint32
}

// SenderAuth is the verdict of sender authentication that delivery acts on
// (docs/ARCHITECTURE.md, "Forwarding and auto-replies").
type SenderAuth struct {
	// Checked: the envelope sender was checked (SPF, and DKIM when on).
	Checked bool
	// SenderVerified: the envelope sender's domain is confirmed (SPF pass, or a
	// DKIM pass aligned with it), so a reply or DSN to it is not backscatter.
	SenderVerified bool
	// Failed says why the message must not leave the server again (DMARC fail,
	// SPF fail without a DMARC pass); "" when nothing failed.
	Failed string
}

// Message is the text of a message exactly as received: CRLF line ends, with the
// SMTP dot-stuffing removed, no headers added.
type Message interface {
	Size() int64
	// Open returns a new reader over the whole message; it may be called more than
	// once and concurrently.
	Open() (io.ReadCloser, error)
}

// Deliverer stores accepted messages. server/ implements it.
type Deliverer interface {
	// Deliver stores msg for every recipient of env and returns exactly one error
	// per recipient, in order: nil when that recipient's copy is safely on disk,
	// a *ReplyError for a specific reply, any other error for "451 4.3.0".
	//
	// LMTP answers each recipient with its own result (RFC 2033 section 4.2).
	// SMTP has one reply for the message: 250 when none failed temporarily and at
	// least one was delivered; 4xx (the first temporary error) when any failed
	// temporarily, so the client retries the whole message; otherwise the first
	// permanent error. When some recipients were delivered and the others failed
	// permanently, SMTP answers 250 and the Deliverer owns telling the sender
	// (a bounce), as RFC 5321 section 4.2.5 requires once a message is accepted.
	Deliver(ctx context.Context, env *Envelope, msg Message) []error
}
