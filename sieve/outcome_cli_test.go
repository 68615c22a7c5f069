package sieve

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// runOutcome compiles and runs a script as `postern sieve test` does.
func runOutcome(t testing.TB, script, msg []byte, env Envelope, loader ScriptLoader, mailboxes ...string) string {
	t.Helper()
	s, err := Compile("script", script, CompileOptions{Loader: loader})
	if err != nil {
		return FormatOutcome(err)
	}
	res, err := s.Execute(context.Background(), NewRawMessage(msg), env, ExecOptions{
		MailboxExists: func(_ context.Context, name string) bool {
			return strings.EqualFold(name, "INBOX") || slices.Contains(mailboxes, name)
		},
	})
	if err != nil {
		return FormatOutcome(err)
	}
	return FormatOutcome(res)
}

func TestManualOutcome(t *testing.T) {
	sp, mp := os.Getenv("SIEVE_SCRIPT"), os.Getenv("SIEVE_MSG")
	if sp == "" {
		t.Skip("set SIEVE_SCRIPT and SIEVE_MSG")
	}
	script, _ := os.ReadFile(sp)
	msg, _ := os.ReadFile(mp)
	t.Log("\n" + runOutcome(t, script, msg, Envelope{From: "alice@example.org", To: "me@example.net", User: "me@example.net"}, nil))
}

// corpusOutcomes runs every corpus script on one message and joins the
// outcomes under "== name" headers.
func corpusOutcomes(t testing.TB, msgPath string) string {
	t.Helper()
	scripts, _ := filepath.Glob("testdata/diff/*.sieve")
	msg, err := os.ReadFile(msgPath)
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	for _, sp := range scripts {
		src, _ := os.ReadFile(sp)
		b.WriteString("== " + filepath.Base(sp) + "\n")
		b.WriteString(runOutcome(t, src, msg, Envelope{From: "alice@example.org", To: "me@example.net", User: "me@example.net"}, nil, "Archive"))
	}
	return b.String()
}

func TestWriteGolden(t *testing.T) {
	if os.Getenv("SIEVE_WRITE_GOLDEN") != "1" {
		t.Skip("set SIEVE_WRITE_GOLDEN=1 to rewrite testdata/golden")
	}
	_ = os.MkdirAll("testdata/golden", 0o755)
	if err := os.WriteFile("testdata/golden/plain.out", []byte(corpusOutcomes(t, "testdata/diff/msgs/plain.eml")), 0o644); err != nil {
		t.Fatal(err)
	}
}
