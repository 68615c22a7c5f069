package sieve

// missingHint says what to do about a capability this engine does not
// have, for `postern sieve check` and ManageSieve's answers. Every
// capability Pigeonhole enables by default is supported; these are the
// ones people meet in scripts brought from elsewhere.
func missingHint(cap string) string {
	if h, ok := missingCaps[cap]; ok {
		return ": Postern does not support it; " + h
	}
	return ": Postern does not know this extension; remove it from require and the commands that use it"
}

var missingCaps = map[string]string{
	"imapsieve":               "it is available only to scripts run on IMAP events; for spam learning on move into Junk, [spam_learning] does it without a script",
	"vnd.dovecot.pipe":        "Postern runs no programs from Sieve; for spam learning use [spam_learning], for other programs deliver to a mailbox and process it from there",
	"vnd.dovecot.execute":     "Postern runs no programs from Sieve; remove the execute commands",
	"vnd.dovecot.filter":      "Postern runs no programs from Sieve; use editheader to change headers instead",
	"vnd.dovecot.report":      "remove the report command; spam reports are sent by moving the message to Junk when [spam_learning] is on",
	"vnd.dovecot.debug":       "remove debug_log; `postern sieve test` shows what a script does",
	"vnd.dovecot.environment": "use the standard environment extension (RFC 5183) instead",
	"vnd.dovecot.duplicate":   "use the standard duplicate extension (RFC 7352) instead",
	"notify":                  "this is the old draft; use enotify (RFC 5435) with a mailto: method",
	"imapflags":               "this is the old draft; use imap4flags (RFC 5232)",
	"extlists":                "remove the :list match type; test the addresses with anyof or a header test",
	"mboxmetadata":            "remove the metadata tests",
	"servermetadata":          "remove the metadata tests",
	"fcc":                     "remove :fcc; vacation replies are not stored",
	"mailboxid":               "use mailbox names with fileinto",
	"convert":                 "remove the convert action",
	"replace":                 "remove the replace action; editheader can change headers",
	"enclose":                 "remove the enclose action",
}
