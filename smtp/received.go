package smtp

import (
	"strings"
)

// ReceivedHeader builds the trace header for env (RFC 5321 section 4.4), folded
// and ending in CRLF, ready to prepend to the message:
//
//	Received: from mail.example.org (mail.example.org [192.0.2.1])
//		(using TLSv1.3 with cipher TLS_AES_128_GCM_SHA256)
//		by mx.example.com with ESMTPS id K7Q2M4XA3B.1
//		for <alice@example.com>; Tue, 2 Jan 2024 15:04:05 +0000
//
// The protocol names are those of RFC 3848 (with "A" after AUTH) and RFC 6531 section 3.7.7 (ESMTP,
// ESMTPS, LMTP, LMTPS, UTF8SMTPS...). "for" is given only for a single
// recipient, so that a copy does not reveal the other (Bcc) recipients.
func ReceivedHeader(env *Envelope) string {
	s := env.Session
	var b strings.Builder
	b.WriteString("Received: from ")
	b.WriteString(headerSafe(s.HELO))
	if s.RemoteAddr.IsValid() {
		rdns := s.ReverseName
		if rdns == "" {
			rdns = "unknown"
		}
		b.WriteString(" (")
		b.WriteString(headerSafe(rdns))
		b.WriteString(" [")
		if ip := s.RemoteAddr.Addr(); ip.Is6() {
			b.WriteString("IPv6:")
			b.WriteString(ip.String())
		} else {
			b.WriteString(ip.String())
		}
		b.WriteString("])")
	}
	if s.TLS != nil {
		b.WriteString("\r\n\t(using ")
		b.WriteString(tls13Name(s.TLS.Version))
		b.WriteString(" with cipher ")
		b.WriteString(tlsCipherName(s.TLS.CipherSuite))
		b.WriteString(")")
	}
	b.WriteString("\r\n\tby ")
	b.WriteString(headerSafe(s.Hostname))
	b.WriteString(" with ")
	b.WriteString(protocolName(env))
	b.WriteString(" id ")
	b.WriteString(env.ID)
	if len(env.Recipients) == 1 {
		b.WriteString("\r\n\tfor <")
		b.WriteString(headerSafe(env.Recipients[0]))
		b.WriteString(">")
	}
	b.WriteString("; ")
	b.WriteString(env.Received.Format("Mon, 2 Jan 2006 15:04:05 -0700"))
	b.WriteString("\r\n")
	return b.String()
}

// protocolName is the "with" value: [UTF8]SMTP|LMTP plus S for TLS and A for
// an authenticated client. go-smtp does not tell HELO from EHLO, so an SMTP
// session is always called ESMTP.
func protocolName(env *Envelope) string {
	var p string
	switch {
	case env.Session.Role == RoleLMTP && env.SMTPUTF8:
		p = "UTF8LMTP"
	case env.Session.Role == RoleLMTP:
		p = "LMTP"
	case env.SMTPUTF8:
		p = "UTF8SMTP"
	default:
		p = "ESMTP"
	}
	if env.Session.TLS != nil {
		p += "S"
	}
	if env.Session.User != "" {
		p += "A" // RFC 3848 section 2: ESMTPA, ESMTPSA; RFC 6531: UTF8SMTPA, UTF8SMTPSA
	}
	return p
}

// headerSafe keeps client-supplied names from breaking the header: no controls,
// no parentheses or brackets that would unbalance the comment.
func headerSafe(s string) string {
	if s == "" {
		return "unknown"
	}
	if IsAddressLiteral(s) {
		return s
	}
	b := []byte(printable(s))
	for i, c := range b {
		switch c {
		case '(', ')', '[', ']', '\\', ';':
			b[i] = '?'
		}
	}
	return string(b)
}
