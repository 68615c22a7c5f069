package main

import (
	"fmt"
	"strings"
)

// renderDocs renders docs/cli.md from the command table. TestCLIDocs fails when the
// committed file differs; `go test ./cmd/postern -update` rewrites it.
func renderDocs(root *command) []byte {
	var b strings.Builder
	b.WriteString("# The postern command line\n\n")
	b.WriteString("<!-- Generated from the command table in cmd/postern; do not edit.\n")
	b.WriteString("     Regenerate with: go test ./cmd/postern -run TestCLIDocs -update -->\n\n")
	fmt.Fprintf(&b, "%s.\n\n%s\n\n", capitalize(root.summary), oneParagraph(root.help))
	fmt.Fprintf(&b, "Every command accepts `--%s %s`, before or after the subcommand: %s. ",
		configFlagName, configFlagValue, configFlagUsage)
	b.WriteString("Every command accepts `-h` or `--help`, and `postern help COMMAND` shows the same text. ")
	b.WriteString("Every listing prints an aligned table, or JSON with `--json`. ")
	b.WriteString("Passwords are never taken from the command line.\n\n")
	b.WriteString("An error is one line `postern: MESSAGE`, followed by `hint: ...` when there is a " +
		"likely next step.\n\n")
	b.WriteString("When the binary is invoked as `sendmail` or `mailq` it acts as those programs " +
		"(see `postern sendmail` and `postern mailq`; sendmail has the exit statuses of sendmail).\n\n")
	b.WriteString("## Exit status\n\n")
	b.WriteString("The statuses follow sysexits(3), so that a script can tell \"not running\" from \"no such user\".\n\n")
	b.WriteString("| status | meaning |\n|---|---|\n")
	for _, e := range exitCodes() {
		fmt.Fprintf(&b, "| %d | %s |\n", e.code, e.meaning)
	}
	b.WriteString("\n")

	b.WriteString("## Commands\n\n")
	walk(root, nil, func(cmd *command, path []string) {
		if cmd.run == nil || len(path) == 0 {
			return
		}
		title := "postern " + strings.Join(path, " ")
		fmt.Fprintf(&b, "- [`%s`](#%s): %s\n", title, anchor(title), cmd.summary)
	})

	walk(root, nil, func(cmd *command, path []string) {
		if cmd.run == nil || len(path) == 0 {
			return
		}
		fmt.Fprintf(&b, "\n## postern %s\n\n", strings.Join(path, " "))
		fmt.Fprintf(&b, "```\n%s\n```\n\n", usageLine(cmd, path))
		fmt.Fprintf(&b, "%s.\n", capitalize(cmd.summary))
		if cmd.help != "" {
			fmt.Fprintf(&b, "\n%s\n", oneParagraph(cmd.help))
		}
		if len(cmd.flags) > 0 {
			b.WriteString("\n| flag | meaning |\n|---|---|\n")
			for _, f := range cmd.flags {
				fmt.Fprintf(&b, "| `%s` | %s |\n", flagSynopsis(f), f.usage)
			}
		}
	})
	return []byte(b.String())
}

// oneParagraph joins the hard-wrapped lines of help text, so Markdown can rewrap them.
func oneParagraph(s string) string {
	return strings.Join(strings.Fields(s), " ")
}

// anchor is the id GitHub gives a heading: lower case, spaces to dashes, other
// punctuation dropped.
func anchor(title string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(title) {
		switch {
		case r == ' ':
			b.WriteByte('-')
		case r == '-' || r == '_' || r >= 'a' && r <= 'z' || r >= '0' && r <= '9':
			b.WriteRune(r)
		}
	}
	return b.String()
}
