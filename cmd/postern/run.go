package main

import (
	"io"
	"path/filepath"
)

// Exit codes, sysexits(3) style so that scripts can tell the failures apart.
const (
	exitOK          = 0
	exitError       = 1  // any other failure, and a check that found problems
	exitUsage       = 64 // EX_USAGE: the command line is wrong
	exitRefused     = 65 // EX_DATAERR: the daemon refused the change (exists, in use, invalid)
	exitNotFound    = 67 // EX_NOUSER: no such user, domain, alias, message or script
	exitUnavailable = 69 // EX_UNAVAILABLE: the daemon is not running
	exitInternal    = 70 // EX_SOFTWARE: the daemon failed internally
	exitProtocol    = 76 // EX_PROTOCOL: the daemon speaks another protocol version
	exitNoPerm      = 77 // EX_NOPERM: not allowed to use the admin socket
	exitConfig      = 78 // EX_CONFIG: the config file is missing or invalid
)

// exitCode is one row of the exit status table in docs/cli.md and postern(8).
type exitCode struct {
	code    int
	meaning string
}

// exitCodes lists every exit status of the admin commands, in order.
func exitCodes() []exitCode {
	return []exitCode{
		{exitOK, "success"},
		{exitError, "any other error, and a check (config check, dns check, relay test, sieve check) that found problems"},
		{exitUsage, "EX_USAGE: the command line is wrong (unknown command or flag, missing or extra arguments)"},
		{exitRefused, "EX_DATAERR: the daemon refused the request (already exists, still in use, invalid value)"},
		{exitNotFound, "EX_NOUSER: no such user, domain, alias, queued message or script"},
		{exitUnavailable, "EX_UNAVAILABLE: the daemon is not running (nothing behind the admin socket)"},
		{exitInternal, "EX_SOFTWARE: the daemon failed internally (see its log)"},
		{exitProtocol, "EX_PROTOCOL: the daemon speaks another admin protocol version (a binary of another release)"},
		{exitNoPerm, "EX_NOPERM: permission denied on the admin socket (run as root or a member of its group)"},
		{exitConfig, "EX_CONFIG: the config file is missing or invalid"},
	}
}

// run is the whole program minus the process: argv (with argv[0]), the standard streams
// and the environment come in, an exit code goes out. The mode is chosen by the name the
// binary was invoked as, so a "sendmail" symlink behaves as sendmail.
func run(args []string, stdin io.Reader, stdout, stderr io.Writer, env func(string) string) int {
	name := "postern"
	if len(args) > 0 {
		name = filepath.Base(args[0])
		args = args[1:]
	}
	c := &cli{stdin: stdin, stdout: stdout, stderr: stderr, getenv: env, root: rootCommand()}
	mode, rest, err := c.compatMode(name, args)
	if err != nil {
		return c.report(err)
	}
	if mode != "" {
		return c.runCompat(mode, rest)
	}
	return c.main(args)
}
