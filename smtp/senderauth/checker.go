package senderauth

import (
	"context"
	"io"
	"math/rand/v2"
	"net"
	"net/netip"
	"strings"
	"time"

	"blitiri.com.ar/go/spf"
)

// Action is what the sender's domain asks the receiver to do with a message.
type Action int

const (
	// Accept: deliver as usual (DMARC passed, or there is no policy to apply).
	Accept Action = iota
	// Quarantine: deliver, but as suspicious (into Junk); DMARC p=quarantine.
	Quarantine
	// Reject: refuse the message; DMARC p=reject, or a From: that cannot be
	// evaluated.
	Reject
	// Defer: a DNS failure kept the checks from a verdict; try again later.
	Defer
)

func (a Action) String() string {
	switch a {
	case Accept:
		return "accept"
	case Quarantine:
		return "quarantine"
	case Reject:
		return "reject"
	case Defer:
		return "defer"
	}
	return "unknown"
}

// Defaults.
const (
	// DefaultTimeout bounds all the DNS work for one message.
	DefaultTimeout = 30 * time.Second
	// DefaultMaxSignatures is how many DKIM signatures are verified; the rest
	// are ignored (each costs DNS lookups and hashing the body).
	DefaultMaxSignatures = 8
	// DefaultMaxQueries bounds the DNS queries of all checks of one message
	// together. Each check has its own bound (RFC 7208 section 4.6.4: 10
	// DNS-querying terms and 2 void lookups per SPF evaluation; MaxSignatures
	// keys; two DMARC records for each of at most MaxFromDomains domains), far
	// below this; it is the backstop. A message that spends it is deferred.
	DefaultMaxQueries = 128
	// MaxFromDomains is how many distinct From: domains DMARC evaluates. RFC
	// 7489 section 6.6.1 has each domain of a multi-valued From: evaluated and
	// allows refusing such messages; a From: with more domains than this is
	// refused rather than costing two DNS queries per domain.
	MaxFromDomains = 10
)

// Options configure a Checker.
type Options struct {
	// AuthServID is our name in Authentication-Results (RFC 8601 section 2.5):
	// the hostname. Required.
	AuthServID string
	// Resolver answers every DNS query. nil means net.DefaultResolver.
	Resolver Resolver
	// SPF, DKIM and DMARC switch each check on; a check that is off is
	// reported as "none" and is not in the header.
	SPF, DKIM, DMARC bool
	// Timeout bounds the DNS work for one message. Default 30 s.
	Timeout time.Duration
	// MaxSignatures bounds the DKIM signatures verified per message. Default 8.
	MaxSignatures int
	// MaxQueries bounds the DNS queries of one message. Default
	// DefaultMaxQueries.
	MaxQueries int
	// Percent returns a number in [0, 100) for DMARC's pct= sampling. Default
	// math/rand/v2.
	Percent func() int
}

// Checker evaluates SPF, DKIM and DMARC. It is safe for concurrent use.
type Checker struct {
	opts Options
}

// New returns a Checker.
func New(o Options) *Checker {
	if o.Resolver == nil {
		o.Resolver = net.DefaultResolver
	}
	o.Resolver = strictResolver{o.Resolver}
	if o.Timeout <= 0 {
		o.Timeout = DefaultTimeout
	}
	if o.MaxSignatures <= 0 {
		o.MaxSignatures = DefaultMaxSignatures
	}
	if o.MaxQueries <= 0 {
		o.MaxQueries = DefaultMaxQueries
	}
	if o.Percent == nil {
		o.Percent = func() int { return rand.IntN(100) }
	}
	return &Checker{opts: o}
}

// Input is one message as received.
type Input struct {
	IP       netip.Addr // the SMTP client
	HELO     string     // the name it gave in HELO/EHLO
	MailFrom string     // the envelope sender; "" for the null sender
	// Open returns the message text (CRLF line ends) from its start; it is
	// called more than once.
	Open func() (io.ReadCloser, error)
}

// SPFResult is the outcome of one SPF check.
type SPFResult struct {
	Result spf.Result // none, neutral, pass, fail, softfail, temperror, permerror
	Domain string     // the domain checked
	Reason string     // why, for a comment
}

// DKIMResult is the outcome of one DKIM signature.
type DKIMResult struct {
	Result     string // pass, fail, neutral, temperror, permerror
	Domain     string // d=
	Identifier string // i=
	Reason     string // why it did not pass
}

// DMARCResult is the DMARC evaluation.
type DMARCResult struct {
	Result string // pass, fail, none, temperror, permerror
	// Domain is the From: domain evaluated (the first one that did not pass).
	Domain string
	// Policy is the policy that applies (none, quarantine, reject) before
	// pct= sampling; "" when there is no record.
	Policy string
	// Applied is the policy after sampling.
	Applied string
	Reason  string
}

// Result is everything found about one message.
type Result struct {
	SPF     SPFResult    // MAIL FROM identity (or HELO for the null sender)
	SPFHELO SPFResult    // HELO identity
	DKIM    []DKIMResult // one per verified signature
	DMARC   DMARCResult
	Action  Action
	// Reason says why Action is not Accept, for the reply and the log.
	Reason string
}

// Check evaluates a message. It only fails (with Action Defer) through DNS;
// the error it returns is for the log when opening the message failed.
func (c *Checker) Check(ctx context.Context, in Input) (*Result, error) {
	ctx, cancel := context.WithTimeout(ctx, c.opts.Timeout)
	defer cancel()
	c = c.withBudget()
	res := &Result{}
	res.SPFHELO, res.SPF = c.checkSPF(ctx, in)
	var err error
	if c.opts.DKIM {
		if res.DKIM, err = c.checkDKIM(ctx, in); err != nil {
			return nil, err
		}
	}
	if c.opts.DMARC {
		if err := c.checkDMARC(ctx, in, res); err != nil {
			return nil, err
		}
	} else {
		res.DMARC = DMARCResult{Result: "none"}
	}
	return res, nil
}

// checkSPF checks the HELO identity and the MAIL FROM identity (RFC 7208
// section 2.3 and 2.4); for the null sender the MAIL FROM identity is
// postmaster@HELO, so its result is the HELO one.
func (c *Checker) checkSPF(ctx context.Context, in Input) (helo, mailFrom SPFResult) {
	none := SPFResult{Result: spf.None}
	if !c.opts.SPF {
		return none, none
	}
	ip := net.IP(in.IP.Unmap().AsSlice())
	opts := []spf.Option{spf.WithContext(ctx), spf.WithResolver(c.opts.Resolver)}
	helo = none
	heloName := strings.TrimSuffix(in.HELO, ".")
	if heloName != "" && !strings.HasPrefix(heloName, "[") && strings.Contains(heloName, ".") {
		r, err := spf.CheckHostWithSender(ip, heloName, "postmaster@"+heloName, opts...)
		helo = SPFResult{Result: r, Domain: strings.ToLower(heloName), Reason: errText(err)}
	}
	if in.MailFrom == "" {
		return helo, helo
	}
	domain := in.MailFrom[strings.LastIndexByte(in.MailFrom, '@')+1:]
	r, err := spf.CheckHostWithSender(ip, heloName, in.MailFrom, opts...)
	return helo, SPFResult{Result: r, Domain: strings.ToLower(domain), Reason: errText(err)}
}

func errText(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}
