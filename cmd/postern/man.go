package main

import (
	"fmt"
	"strings"

	"github.com/postern/postern/server/config"
)

// manDate is the date in the man pages' footer. It is fixed (not today's date) so that
// the generated page only changes when the command table does; bump it with a release.
const manDate = "2026-12-07"

// renderMan renders postern(8) from the command table: every leaf command with its
// usage, description and flags, the global flags, the exit statuses and the files.
func renderMan(root *command) []byte {
	var b strings.Builder
	b.WriteString(`.\" Generated from the command table in cmd/postern; do not edit.
.\" Regenerate with: make docs
`)
	fmt.Fprintf(&b, ".TH POSTERN 8 %s Postern \"System Manager's Manual\"\n", manDate)
	b.WriteString(".SH NAME\npostern, sendmail, mailq \\- " + roff(root.summary) + "\n")
	b.WriteString(".SH SYNOPSIS\n.B postern\n.I COMMAND\n[\\fIARGS\\fR] [\\fB\\-\\-config\\fR \\fIFILE\\fR]\n")
	b.WriteString(".br\n.B sendmail\n[\\fIFLAGS\\fR] [\\fIRECIPIENT\\fR...]\n.br\n.B mailq\n")
	b.WriteString(".SH DESCRIPTION\n" + roffPara(root.help) + "\n")
	b.WriteString(".PP\nWhen invoked as \\fBsendmail\\fR or \\fBmailq\\fR the binary acts as those programs " +
		"(see \\fBpostern sendmail\\fR and \\fBpostern mailq\\fR below).\n")
	b.WriteString(".SH GLOBAL OPTIONS\n")
	fmt.Fprintf(&b, ".TP\n.BI \\-\\-%s \" %s\"\n%s.\n", configFlagName, configFlagValue, roff(capitalize(configFlagUsage)))
	b.WriteString(".TP\n.BR \\-h \", \" \\-\\-help\nShow the help of the command.\n")
	b.WriteString(".SH COMMANDS\n")
	walk(root, nil, func(cmd *command, path []string) {
		if cmd.run == nil || len(path) == 0 {
			return
		}
		fmt.Fprintf(&b, ".SS %s\n", roff("postern "+strings.Join(path, " ")))
		fmt.Fprintf(&b, ".nf\n%s\n.fi\n", roff(usageLine(cmd, path)))
		fmt.Fprintf(&b, ".PP\n%s.\n", roff(capitalize(cmd.summary)))
		if cmd.help != "" {
			fmt.Fprintf(&b, ".PP\n%s\n", roffPara(cmd.help))
		}
		for _, f := range cmd.flags {
			fmt.Fprintf(&b, ".TP\n.B %s\n%s\n", roff(flagSynopsis(f)), roff(capitalize(f.usage)))
		}
	})
	b.WriteString(".SH EXIT STATUS\n")
	for _, e := range exitCodes() {
		fmt.Fprintf(&b, ".TP\n.B %d\n%s.\n", e.code, roff(capitalize(e.meaning)))
	}
	b.WriteString(`.SH FILES
.TP
.I /etc/postern/postern.toml
The config file; see
.BR postern.toml (5).
.TP
.I /var/lib/postern
The state: the database, the Maildirs, the outbound queue, generated certificates.
.TP
.I /run/postern
The unix sockets: admin.sock (root and group postern), submit.sock (every local user, for sendmail).
.SH ENVIRONMENT
.TP
.B POSTERN_CONFIG
The config file when \-\-config is not given.
.TP
.B JOURNAL_STREAM
Set by systemd; log lines then carry their priority for the journal.
.SH SEE ALSO
.BR postern.toml (5),
.BR journalctl (1),
.BR systemctl (1)
`)
	return []byte(b.String())
}

// roff escapes text for a roff line (the same rules as postern.toml(5)).
func roff(s string) string { return config.ManEscape(s) }

// roffPara joins hard-wrapped help text into one filled paragraph; blank lines start new
// paragraphs.
func roffPara(s string) string {
	var paras []string
	for p := range strings.SplitSeq(strings.TrimSpace(s), "\n\n") {
		paras = append(paras, roff(oneParagraph(p)))
	}
	return strings.Join(paras, "\n.PP\n")
}
