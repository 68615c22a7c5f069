package main

import (
	"io"
	"path/filepath"
)

// Exit codes.
const (
	exitOK    = 0
	exitError = 1
	exitUsage = 2
)

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
