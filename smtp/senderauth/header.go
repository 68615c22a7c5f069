package senderauth

import (
	"strings"

	"blitiri.com.ar/go/spf"
)

// HeaderName is the field name of RFC 8601.
const HeaderName = "Authentication-Results"

// Header returns the Authentication-Results field (RFC 8601 section 2.2),
// name included and CRLF-terminated, one result per folded line, for the
// checks that ran. With no checks it says "none".
func (c *Checker) Header(r *Result, mailFrom string) string {
	var parts []string
	if c.opts.SPF {
		if mailFrom != "" {
			parts = append(parts, spfPart(r.SPF, "smtp.mailfrom", mailFrom))
		}
		if r.SPFHELO.Domain != "" {
			parts = append(parts, spfPart(r.SPFHELO, "smtp.helo", r.SPFHELO.Domain))
		}
	}
	if c.opts.DKIM {
		if len(r.DKIM) == 0 {
			parts = append(parts, "dkim=none")
		}
		for _, d := range r.DKIM {
			p := "dkim=" + d.Result + comment(d.Reason)
			if d.Domain != "" {
				p += " header.d=" + pvalue(d.Domain)
			}
			if d.Identifier != "" {
				p += " header.i=" + pvalue(d.Identifier)
			}
			parts = append(parts, p)
		}
	}
	if c.opts.DMARC {
		p := "dmarc=" + r.DMARC.Result
		if r.DMARC.Policy != "" {
			p += " (p=" + r.DMARC.Policy + " dis=" + strings.ToUpper(orNone(r.DMARC.Applied)) + ")"
		} else if r.DMARC.Result != "pass" {
			p += comment(r.DMARC.Reason)
		}
		if r.DMARC.Domain != "" {
			p += " header.from=" + pvalue(r.DMARC.Domain)
		}
		parts = append(parts, p)
	}
	if len(parts) == 0 {
		parts = []string{"none"}
	}
	return HeaderName + ": " + c.opts.AuthServID + ";\r\n\t" + strings.Join(parts, ";\r\n\t") + "\r\n"
}

func orNone(s string) string {
	if s == "" {
		return "none"
	}
	return s
}

func spfPart(r SPFResult, prop, value string) string {
	p := "spf=" + string(r.Result)
	if r.Result != spf.Pass && r.Result != spf.None {
		p += comment(r.Reason)
	}
	return p + " " + prop + "=" + pvalue(value)
}

// comment renders text as an RFC 5322 comment, dropping what could end or
// nest it and anything that is not printable ASCII.
func comment(text string) string {
	if text == "" {
		return ""
	}
	var b strings.Builder
	for _, r := range text {
		if r < 0x20 || r > 0x7e || r == '(' || r == ')' || r == '\\' {
			continue
		}
		b.WriteRune(r)
	}
	s := strings.TrimSpace(b.String())
	if len(s) > 120 {
		s = s[:120]
	}
	if s == "" {
		return ""
	}
	return " (" + s + ")"
}

// pvalue renders a property value (RFC 8601 section 2.2): as is when it is a
// dot-atom-ish token or an address, quoted otherwise.
func pvalue(s string) string {
	ok := s != ""
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("!#$%&'*+-/=?^_`{|}~.@", r)) {
			ok = false
			break
		}
	}
	if ok {
		return s
	}
	var b strings.Builder
	b.WriteByte('"')
	for _, r := range s {
		if r < 0x20 || r == 0x7f {
			continue
		}
		if r == '"' || r == '\\' {
			b.WriteByte('\\')
		}
		b.WriteRune(r)
	}
	b.WriteByte('"')
	return b.String()
}

// ClaimsAuthServID reports whether an Authentication-Results field value
// names id as its authserv-id (RFC 8601 section 2.2; compared without case,
// after any leading comment). RFC 8601 section 5 asks a receiver to remove
// such fields that arrive from outside: only we may speak for our name.
func ClaimsAuthServID(value, id string) bool {
	v := skipCFWS(value)
	if q, ok := strings.CutPrefix(v, `"`); ok {
		// A quoted-string authserv-id; ours has no quoted-pairs in it.
		v, _, _ = strings.Cut(q, `"`)
	}
	end := strings.IndexAny(v, " \t\r\n;(")
	if end < 0 {
		end = len(v)
	}
	token := strings.TrimSuffix(v[:end], ".")
	return token != "" && strings.EqualFold(token, strings.TrimSuffix(id, "."))
}

// skipCFWS drops leading white space and (possibly nested) comments.
func skipCFWS(s string) string {
	for {
		s = strings.TrimLeft(s, " \t\r\n")
		if !strings.HasPrefix(s, "(") {
			return s
		}
		depth := 0
		i := 0
	scan:
		for ; i < len(s); i++ {
			switch s[i] {
			case '\\':
				i++
			case '(':
				depth++
			case ')':
				depth--
				if depth == 0 {
					break scan
				}
			}
		}
		if i >= len(s) {
			return ""
		}
		s = s[i+1:]
	}
}
