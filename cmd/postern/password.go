package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"golang.org/x/term"
)

// maxPasswordLine bounds what --password-stdin reads.
const maxPasswordLine = 4096

func passwordStdinFlag() flagSpec {
	return flagSpec{name: "password-stdin", usage: "read the password from the first line of standard input"}
}

// newPassword gets a password without it ever being on the command line: the first line
// of stdin with --password-stdin, else asked twice on the terminal without echo.
func (c *cli) newPassword(inv *invocation, address string) (string, error) {
	if inv.bool("password-stdin") {
		return readPasswordLine(c.stdin)
	}
	f, ok := c.stdin.(*os.File)
	if !ok || !term.IsTerminal(int(f.Fd())) {
		return "", withHint(errors.New("standard input is not a terminal, so there is no one to ask for the password"),
			"pass --password-stdin and write the password on standard input")
	}
	fd := int(f.Fd())
	fmt.Fprintf(c.stderr, "New password for %s: ", address)
	first, err := term.ReadPassword(fd)
	fmt.Fprintln(c.stderr)
	if err != nil {
		return "", fmt.Errorf("reading the password: %w", err)
	}
	fmt.Fprintf(c.stderr, "Again: ")
	second, err := term.ReadPassword(fd)
	fmt.Fprintln(c.stderr)
	if err != nil {
		return "", fmt.Errorf("reading the password: %w", err)
	}
	if string(first) != string(second) {
		return "", errors.New("the two passwords differ; nothing was changed")
	}
	if len(first) == 0 {
		return "", errors.New("empty password; nothing was changed")
	}
	return string(first), nil
}

// readPasswordLine returns the first line of r without its line ending.
func readPasswordLine(r io.Reader) (string, error) {
	br := bufio.NewReaderSize(io.LimitReader(r, maxPasswordLine+1), 512)
	line, err := br.ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return "", fmt.Errorf("reading the password from standard input: %w", err)
	}
	if len(line) > maxPasswordLine {
		return "", fmt.Errorf("the password on standard input is longer than %d bytes", maxPasswordLine)
	}
	line = strings.TrimSuffix(strings.TrimSuffix(line, "\n"), "\r")
	if line == "" {
		return "", withHint(errors.New("no password on standard input"),
			"write the password as the first line, e.g. printf '%s\\n' \"$PW\" | postern ...")
	}
	return line, nil
}
