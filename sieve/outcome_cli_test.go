package sieve

import (
	"context"
	"os"
	"testing"
)

// runOutcome compiles and runs a script as `postern sieve test` does.
func runOutcome(t testing.TB, script, msg []byte, env Envelope, loader ScriptLoader) string {
	t.Helper()
	s, err := Compile("script", script, CompileOptions{Loader: loader})
	if err != nil {
		return FormatOutcome(err)
	}
	res, err := s.Execute(context.Background(), NewRawMessage(msg), env, ExecOptions{})
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
