package smtp

import (
	"context"
	"crypto/tls"
	"errors"
	"net"
)

// checkHELO applies Postfix's reject_invalid_helo_hostname and
// reject_non_fqdn_helo_hostname to MX clients outside TrustedNetworks. LMTP
// peers are local MTAs and are not checked.
func (s *session) checkHELO(name string) *ReplyError {
	if s.srv.opts.Role != RoleMX || s.c.trusted {
		return nil
	}
	valid, fqdn := CheckHELO(name)
	switch {
	case !valid:
		return Reply(501, [3]int{5, 5, 2}, "<%s>: Helo command rejected: Invalid name", printable(name))
	case !fqdn:
		return Reply(504, [3]int{5, 5, 2}, "<%s>: Helo command rejected: need fully-qualified hostname", printable(name))
	}
	return nil
}

// checkSender validates MAIL FROM and returns it normalised. Syntax is checked
// for everyone; the FQDN rule (reject_non_fqdn_sender) and the DNS rule
// (reject_unknown_sender_domain) only for untrusted MX clients. The null
// reverse-path <> is always accepted (RFC 5321 section 4.5.5: bounces use it).
func (s *session) checkSender(from string, utf8 bool) (string, *ReplyError) {
	if from == "" {
		return "", nil
	}
	addr, err := ParseAddress(from, utf8)
	if err != nil {
		return "", addressReply(err, "Sender", 7)
	}
	norm := addr.String()
	if s.srv.opts.Role != RoleMX || s.c.trusted {
		return norm, nil
	}
	if !IsFQDN(addr.Domain) {
		return "", Reply(504, [3]int{5, 5, 2}, "<%s>: Sender address rejected: need fully-qualified address", printable(norm))
	}
	if s.srv.opts.RejectUnknownSenderDomain && !IsAddressLiteral(addr.Domain) {
		if r := s.checkSenderDomain(addr.Domain); r != nil {
			r.Message = "<" + printable(norm) + ">: " + r.Message
			return "", r
		}
	}
	return norm, nil
}

// checkSenderDomain refuses a domain that can receive no mail: no MX and no
// address record (550 5.1.8, RFC 3463 "bad sender's system address"), or a null
// MX (RFC 7505 section 4.2: 550 5.7.27). A DNS failure is temporary (451 4.1.8),
// so a sender is never refused because our resolver had a bad moment.
func (s *session) checkSenderDomain(domain string) *ReplyError {
	ctx, cancel := context.WithTimeout(context.Background(), s.srv.opts.LookupTimeout)
	defer cancel()
	res := s.srv.opts.Resolver
	mxs, err := res.LookupMX(ctx, domain)
	if err != nil && !isNotFound(err) {
		return Reply(451, [3]int{4, 1, 8}, "Sender address rejected: Domain not found (DNS lookup failed)")
	}
	if len(mxs) == 1 && (mxs[0].Host == "." || mxs[0].Host == "") {
		return Reply(550, [3]int{5, 7, 27}, "Sender address rejected: Domain %s does not accept mail (nullMX)", domain)
	}
	if len(mxs) > 0 {
		return nil
	}
	// RFC 5321 section 5.1: without MX records the domain itself is the host.
	hosts, err := res.LookupHost(ctx, domain)
	switch {
	case err != nil && !isNotFound(err):
		return Reply(451, [3]int{4, 1, 8}, "Sender address rejected: Domain not found (DNS lookup failed)")
	case len(hosts) == 0:
		return Reply(550, [3]int{5, 1, 8}, "Sender address rejected: Domain not found")
	}
	return nil
}

// isNotFound reports an authoritative "no such name / no such record".
func isNotFound(err error) bool {
	var de *net.DNSError
	return errors.As(err, &de) && de.IsNotFound
}

// addressReply maps a ParseAddress error to the Postfix reply: 501 5.1.7 (bad
// sender) or 501 5.1.3 (bad recipient) for syntax and length, 553 5.6.7 for a
// UTF-8 address without SMTPUTF8 (RFC 6531 section 3.6.1).
func addressReply(err error, who string, detail int) *ReplyError {
	if errors.Is(err, ErrNonASCII) {
		return Reply(553, [3]int{5, 6, 7}, "Must declare SMTPUTF8 to send unicode address")
	}
	return Reply(501, [3]int{5, 1, detail}, "Bad %s address syntax", lowerFirst(who))
}

func lowerFirst(s string) string {
	if s == "" {
		return s
	}
	return string(s[0]|0x20) + s[1:]
}

// printable keeps client-supplied text in a reply to one line of visible
// characters, so a reply or log line can never be split or forged.
func printable(s string) string {
	const max = 255
	b := make([]byte, 0, len(s))
	for i := 0; i < len(s) && len(b) < max; i++ {
		c := s[i]
		if c < 0x20 || c == 0x7f {
			c = '?'
		}
		b = append(b, c)
	}
	return string(b)
}

// tls13Name names a TLS version as Postfix writes it in Received ("TLSv1.3").
func tls13Name(v uint16) string {
	switch v {
	case tls.VersionTLS10:
		return "TLSv1"
	case tls.VersionTLS11:
		return "TLSv1.1"
	case tls.VersionTLS12:
		return "TLSv1.2"
	case tls.VersionTLS13:
		return "TLSv1.3"
	}
	return tls.VersionName(v)
}

func tlsCipherName(id uint16) string { return tls.CipherSuiteName(id) }
