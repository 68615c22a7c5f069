package config

import (
	"fmt"
	"strings"
)

// ManDate is the date in the footer of postern.toml(5); fixed so that the page changes
// only when the schema does.
const ManDate = "2026-12-07"

// ManPage returns postern.toml(5): the same sections and keys as Reference, as a man page.
func ManPage() []byte {
	var b strings.Builder
	b.WriteString(`.\" Generated from server/config by ManPage(); do not edit.
.\" Regenerate with: make docs
`)
	fmt.Fprintf(&b, ".TH POSTERN.TOML 5 %s Postern \"File Formats Manual\"\n", ManDate)
	b.WriteString(`.SH NAME
postern.toml \- configuration file of the Postern mail server
.SH SYNOPSIS
.I /etc/postern/postern.toml
.SH DESCRIPTION
Postern reads one TOML file: \-\-config FILE, else $POSTERN_CONFIG, else
/etc/postern/postern.toml.
.B postern config default
prints a complete file with every key at its default;
.B postern config check
reports every problem in a file with its line;
.B postern config show
prints the effective configuration, defaults filled in.
.PP
Unknown keys are an error, so a typo never silently falls back to a default.
A relative path is relative to the config file's directory, except socket paths
(admin.socket, unix: listen addresses), which are relative to runtime_dir.
A listen address is ":port", "host:port", "[ipv6]:port" or "" (off).
Secrets never live in this file: they are in files it names (relay password_file,
tls.acme dns_credentials), which must not be readable by others.
`)
	for _, sec := range sections() {
		if sec.header == "" {
			b.WriteString(".SH TOP LEVEL\n")
		} else {
			fmt.Fprintf(&b, ".SH %s\n%s\n", ManEscape(sec.header), ManEscape(sec.doc))
		}
		for _, f := range sec.fields {
			def := "default " + tomlValue(sec.v.Field(f.index))
			if isRequired(f) {
				def = "required"
			}
			fmt.Fprintf(&b, ".TP\n.BR %s \" (%s, %s)\"\n%s\n", ManEscape(f.name),
				ManEscape(typeName(f.sf)), ManEscape(def), ManEscape(describe(f.sf)))
		}
	}
	b.WriteString(".SH SEE ALSO\n.BR postern (8)\n")
	return []byte(b.String())
}

// ManEscape escapes text for a roff line or a quoted macro argument: backslashes, minus
// signs, double quotes (as \(dq), and a leading dot or quote that would make a request.
func ManEscape(s string) string {
	s = strings.ReplaceAll(s, `\`, `\e`)
	s = strings.ReplaceAll(s, "-", `\-`)
	s = strings.ReplaceAll(s, `"`, `\(dq`)
	if strings.HasPrefix(s, ".") || strings.HasPrefix(s, "'") {
		s = `\&` + s
	}
	return s
}
