package localsubmit

import (
	"context"
	"fmt"
	"strings"

	"github.com/postern/postern/smtp"
)

// Local services (cron, NUT's upsmon, smartd, scripts) send to the names of the machine:
// "root", "nut", root@HOSTNAME, someone@localhost. No local domain holds those, so
// before delivery each recipient of a local submission is rewritten the way Postfix's
// aliases(5) sends root and postmaster to a real user (rewriter.rewrite):
//
//  1. an address that reaches someone here (a user, an alias, a catch-all, a disabled
//     user, who is refused with the reason) is kept;
//  2. a bare name, or name@ one of the machine's own names (Hostname,
//     Options.MachineNames, localhost, localhost.localdomain, the loopback address
//     literals) that is not a local domain, becomes name@ the first local domain when
//     that reaches someone, else the owner;
//  3. root, postmaster, MAILER-DAEMON and abuse at a local domain that has no such
//     address go to the owner too;
//  4. anything else is kept: an address of another domain is relayed, an unknown user
//     of a local domain refused.
//
// With no owner, the recipient is deferred (4.3.0): the message waits in pickup and
// is tried again, and the log says what to configure. The port 25 and submission
// listeners do not rewrite: outside senders get no aliases of the machine.

// Resolution is what the server knows of one address.
type Resolution int

const (
	// Foreign: not in a local domain; delivery relays it.
	Foreign Resolution = iota
	// Unknown: in a local domain, and nobody receives it.
	Unknown
	// Known: in a local domain and resolved (a user, an alias, a catch-all).
	Known
)

// Names is what the rewrite needs of the server's addresses; package server implements
// it over the delivery agent's resolution and [alerts] to.
type Names interface {
	// Resolve says what delivery would make of addr (normalised, with a domain).
	Resolve(ctx context.Context, addr string) (Resolution, error)
	// PrimaryDomain is the first local domain, "" while there is none.
	PrimaryDomain(ctx context.Context) (string, error)
	// Owner is where mail for the machine's own accounts goes; "" when nobody is
	// configured, with hint saying what to configure.
	Owner(ctx context.Context) (owner, hint string, err error)
}

// ownerNames are the local parts that go to the owner even at a local domain, as
// Postfix's default aliases(5) and RFC 2142 have them.
var ownerNames = map[string]bool{"root": true, "postmaster": true, "mailer-daemon": true, "abuse": true}

// rewriter applies the rules above; names nil leaves every address as qualified.
type rewriter struct {
	names    Names
	hostname string          // qualifies a bare name
	machine  map[string]bool // the machine's own names, lower case
}

func newRewriter(names Names, hostname string, machineNames []string) *rewriter {
	m := map[string]bool{"localhost": true, "localhost.localdomain": true, "[127.0.0.1]": true, "[ipv6:::1]": true,
		strings.ToLower(hostname): true}
	for _, n := range machineNames {
		if n = strings.ToLower(strings.TrimSuffix(n, ".")); n != "" {
			m[n] = true
		}
	}
	return &rewriter{names: names, hostname: hostname, machine: m}
}

// rewrite qualifies rcpt and says where it goes. No owner, or a failed lookup, is a
// *smtp.ReplyError with a 4xx code; any other error is a bad address.
func (w *rewriter) rewrite(ctx context.Context, rcpt string) (string, error) {
	_, to, err := w.place(ctx, rcpt)
	return to, err
}

// place is rewrite that also returns rcpt qualified (as given, before the rewrite; ""
// when it does not parse), which the submission logs and keeps for a retry.
func (w *rewriter) place(ctx context.Context, rcpt string) (addr, to string, err error) {
	addr, err = smtp.QualifyAddress(rcpt, w.hostname)
	if err != nil {
		return "", "", err
	}
	to, err = w.placeQualified(ctx, addr, !strings.Contains(rcpt, "@"))
	return addr, to, err
}

// placeQualified places addr, rcpt qualified; bare: rcpt had no domain.
func (w *rewriter) placeQualified(ctx context.Context, addr string, bare bool) (string, error) {
	if w.names == nil {
		return addr, nil
	}
	res, err := w.names.Resolve(ctx, addr)
	if err != nil {
		return "", lookupFailed(addr, err)
	}
	local, domain := splitAddr(addr)
	switch {
	case res == Known:
		return addr, nil
	case bare || w.machine[strings.ToLower(domain)] && res == Foreign:
		return w.toPrimary(ctx, addr, local)
	case res == Unknown && ownerNames[strings.ToLower(local)]:
		return w.owner(ctx, addr)
	}
	return addr, nil
}

// toPrimary is name@ the first local domain when someone receives that, else the owner.
func (w *rewriter) toPrimary(ctx context.Context, addr, local string) (string, error) {
	d, err := w.names.PrimaryDomain(ctx)
	if err != nil {
		return "", lookupFailed(addr, err)
	}
	if d != "" {
		cand := local + "@" + d
		res, err := w.names.Resolve(ctx, cand)
		if err != nil {
			return "", lookupFailed(cand, err)
		}
		if res == Known {
			return cand, nil
		}
	}
	return w.owner(ctx, addr)
}

func (w *rewriter) owner(ctx context.Context, addr string) (string, error) {
	o, hint, err := w.names.Owner(ctx)
	if err != nil {
		return "", lookupFailed(addr, err)
	}
	if o == "" {
		return "", smtp.Reply(451, [3]int{4, 3, 0}, "<%s>: a name of this machine, and nobody is set to receive its mail: %s; the message waits and is tried again", addr, hint)
	}
	return o, nil
}

func lookupFailed(addr string, err error) error {
	return smtp.Reply(451, [3]int{4, 3, 0}, "<%s>: temporary lookup failure: %v", addr, err)
}

// splitAddr splits at the last "@".
func splitAddr(addr string) (local, domain string) {
	i := strings.LastIndexByte(addr, '@')
	if i < 0 {
		return addr, ""
	}
	return addr[:i], addr[i+1:]
}

// String names a resolution, for logs and tests.
// Classify is the Resolution of an address the delivery agent found local (in a local
// domain) or not, and found to reach someone or not (deliver.Agent.Lookup).
func Classify(local, found bool) Resolution {
	switch {
	case found:
		return Known
	case local:
		return Unknown
	}
	return Foreign
}

func (r Resolution) String() string {
	switch r {
	case Foreign:
		return "foreign"
	case Unknown:
		return "unknown"
	case Known:
		return "known"
	}
	return fmt.Sprintf("Resolution(%d)", int(r))
}
