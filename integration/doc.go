// Package integration holds the tests that build the real postern binary and drive it the
// way a user would: through its CLI, its admin socket and real protocol clients (swaks,
// Python's imaplib, mbsync, Postfix as a peer MTA).
//
// The harness (harness_test.go) builds the binary once per `go test` run with coverage
// instrumentation, gives every test its own state dir, runtime dir and config with every
// port at 127.0.0.1:0, starts `postern serve` with NOTIFY_SOCKET pointing at a socket of
// its own and waits for READY=1 (the daemon sends it only after every listener is bound),
// reads the bound addresses from `postern status --json`, streams the server's log into
// the test log, and stops it with SIGTERM, then SIGKILL after a deadline.
//
// Tools: a test that needs an outside program calls needTool; outside CI a missing tool
// skips the test, under CI=true it fails it, so a green CI run never hides a skipped test.
package integration
