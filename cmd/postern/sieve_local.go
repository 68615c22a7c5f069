package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/postern/postern/sieve"
)

func sieveCheckCommand() *command {
	return &command{
		name: "check", args: "FILE", minArgs: 1, maxArgs: 1,
		summary: "compile a script without a daemon; print its errors with line:column",
		flags: []flagSpec{
			{name: "personal", value: "DIR", usage: "where include :personal finds NAME.sieve"},
			{name: "global", value: "DIR", usage: "where include :global finds NAME.sieve"},
		},
		run: sieveCheck,
	}
}

func sieveTestCommand() *command {
	return &command{
		name: "test", maxArgs: 0,
		summary: "run a script on a message without a daemon and print what delivery would do",
		help: `Prints the outcome, one action per line (keep, fileinto, redirect, discard,
reject, vacation, or "error compile CLASS" / "error runtime"), in the format of
the Sieve outcome document; the exit status is 1 when the script does not compile.
--message - reads the message from standard input. The mailboxes named by
--mailboxes exist before delivery (for mailboxexists); INBOX always does.`,
		flags: []flagSpec{
			{name: "script", value: "FILE", usage: "the Sieve script (required)"},
			{name: "message", value: "FILE", usage: "the message, RFC 5322 (required; - for standard input)"},
			{name: "from", value: "ADDRESS", usage: "the envelope sender (required)"},
			{name: "to", value: "ADDRESS", usage: "the envelope recipient, the user whose script runs (required)"},
			{name: "personal", value: "DIR", usage: "where include :personal finds NAME.sieve"},
			{name: "global", value: "DIR", usage: "where include :global finds NAME.sieve"},
			{name: "mailboxes", value: "A,B", usage: "mailboxes that exist, comma-separated"},
		},
		run: sieveTest,
	}
}

// dirLoader resolves includes from NAME.sieve files in two directories, as Pigeonhole's
// sieve_dir and sieve_global_dir do.
type dirLoader struct{ personal, global string }

func (l dirLoader) LoadScript(_ context.Context, loc sieve.ScriptLocation, name string) ([]byte, error) {
	dir := l.personal
	if loc == sieve.Global {
		dir = l.global
	}
	// A script name is a name, not a path (RFC 6609 section 3.2).
	if dir == "" || name == "" || strings.ContainsAny(name, "/\x00") || name == "." || name == ".." {
		return nil, fmt.Errorf("script %q: %w", name, fs.ErrNotExist)
	}
	return os.ReadFile(filepath.Join(dir, name+".sieve"))
}

func compileFile(path string, inv *invocation) (*sieve.Script, error) {
	src, err := readLimited(path, nil)
	if err != nil {
		return nil, err
	}
	return sieve.Compile(filepath.Base(path), src, sieve.CompileOptions{
		Loader: dirLoader{personal: inv.str("personal"), global: inv.str("global")},
	})
}

func sieveCheck(_ context.Context, c *cli, inv *invocation) error {
	_, err := compileFile(inv.args[0], inv)
	var ce *sieve.CompileError
	if errors.As(err, &ce) {
		fmt.Fprintf(c.stderr, "%s:%d:%d: %s error: %s\n", inv.args[0], ce.Line, ce.Col, ce.Class, ce.Msg)
		return exitStatus(exitError)
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(c.stdout, "%s: ok\n", inv.args[0])
	return nil
}

func sieveTest(ctx context.Context, c *cli, inv *invocation) error {
	for _, f := range []string{"script", "message", "from", "to"} {
		if inv.str(f) == "" {
			return inv.usage("--%s is required", f)
		}
	}
	var raw []byte
	var err error
	if m := inv.str("message"); m == "-" {
		raw, err = readLimited("standard input", c.stdin)
	} else {
		raw, err = readLimited(m, nil)
	}
	if err != nil {
		return err
	}
	script, err := compileFile(inv.str("script"), inv)
	var ce *sieve.CompileError
	if errors.As(err, &ce) {
		_, _ = io.WriteString(c.stdout, sieve.FormatOutcome(ce))
		fmt.Fprintf(c.stderr, "%s:%d:%d: %s error: %s\n", inv.str("script"), ce.Line, ce.Col, ce.Class, ce.Msg)
		return exitStatus(exitError)
	}
	if err != nil {
		return err
	}
	var mailboxes []string
	if m := inv.str("mailboxes"); m != "" {
		mailboxes = strings.Split(m, ",")
	}
	to := inv.str("to")
	res, err := script.Execute(ctx, sieve.NewRawMessage(raw),
		sieve.Envelope{From: inv.str("from"), To: to, User: to},
		sieve.ExecOptions{MailboxExists: func(_ context.Context, name string) bool {
			return strings.EqualFold(name, "INBOX") || slices.Contains(mailboxes, name)
		}})
	if err != nil {
		// Delivery would keep the message in INBOX; the outcome says so.
		fmt.Fprintf(c.stderr, "postern: %v\n", err)
		_, err = io.WriteString(c.stdout, sieve.FormatOutcome(err))
		return err
	}
	_, err = io.WriteString(c.stdout, sieve.FormatOutcome(res))
	return err
}
