package managesieve

import (
	"strconv"
	"strings"
	"unicode/utf8"
)

// Response codes of RFC 5804 section 1.3 that this server sends.
const (
	codeEncryptNeeded = "ENCRYPT-NEEDED"
	codeQuotaMaxSize  = "QUOTA/MAXSIZE"
	codeQuotaScripts  = "QUOTA/MAXSCRIPTS"
	codeTryLater      = "TRYLATER"
	codeActive        = "ACTIVE"
	codeNonexistent   = "NONEXISTENT"
	codeExists        = "ALREADYEXISTS"
	codeTag           = "TAG"
)

// quote writes s as a quoted string when the grammar allows (at most 1024 octets of
// UTF-8 without CR, LF or NUL), otherwise as a literal-s2c {N} (RFC 5804 section 4).
func quote(s string) string {
	if len(s) <= maxQuoted && utf8.ValidString(s) && !strings.ContainsAny(s, "\r\n\x00") {
		r := strings.NewReplacer(`\`, `\\`, `"`, `\"`)
		return `"` + r.Replace(s) + `"`
	}
	return "{" + strconv.Itoa(len(s)) + "}\r\n" + s
}

// reply formats OK, NO or BYE with an optional response code (and its argument) and an
// optional human-readable text: NO (NONEXISTENT) "There is no script named x".
func reply(status, code, codeArg, text string) string {
	var b strings.Builder
	b.WriteString(status)
	if code != "" {
		b.WriteString(" (" + code)
		if codeArg != "" {
			b.WriteString(" " + quote(codeArg))
		}
		b.WriteString(")")
	}
	if text != "" {
		b.WriteString(" " + quote(text))
	}
	b.WriteString("\r\n")
	return b.String()
}
