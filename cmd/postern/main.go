// Command postern is the whole mail server in one binary: `postern serve` runs the
// daemon, every other subcommand administers it over the admin socket, and when invoked
// as "sendmail" or "mailq" it behaves as those programs.
//
// Layout: main.go picks the mode; run.go holds the testable entry point run; command.go
// is the command-table machinery (dispatch, flags, help); one file per command group
// (serve.go, config.go, status.go, domain.go, user.go, alias.go, version.go) holds that
// group's part of the table; docs.go renders docs/cli.md from the same table.
package main

import "os"

// version is stamped at build time with -ldflags "-X main.version=v1.2.3"; "" falls back
// to the module version recorded in the binary.
var version string

func main() {
	os.Exit(run(os.Args, os.Stdin, os.Stdout, os.Stderr, os.Getenv))
}
