package managesieve

import (
	"bufio"
	"errors"
	"strings"
	"testing"
)

// FuzzReadCommand feeds arbitrary client input to the command parser: it must never
// panic, never return more than the limits allow, and always make progress.
func FuzzReadCommand(f *testing.F) {
	for _, s := range []string{
		"CAPABILITY\r\n",
		"AUTHENTICATE \"PLAIN\" \"AGFsaWNlAHNlY3JldA==\"\r\n",
		"PUTSCRIPT \"a\" {5+}\r\nkeep;\r\n",
		"PUTSCRIPT {1}\r\na {5}\r\nkeep;\r\n",
		"HAVESPACE \"x\" 4294967295\r\nHAVESPACE \"x\" 4294967296\r\n",
		"NOOP \"a\\\"b\\\\c\"\r\nNOOP \"bad\\q\"\r\n",
		"\"\"\r\n{3}\r\nabc\r\n",
		"X {999999999999+}\r\n",
		"NOOP \"unterminated\r\nLOGOUT\n",
	} {
		f.Add([]byte(s))
	}
	lim := limits{maxLine: 64, maxLiteral: 32, maxArgs: 4}
	f.Fuzz(func(t *testing.T, data []byte) {
		r := bufio.NewReader(strings.NewReader(string(data)))
		for i := 0; i <= len(data); i++ {
			cmd, err := readCommand(r, lim)
			var se *syntaxError
			switch {
			case err == nil:
				if len(cmd.args) > lim.maxArgs-1 {
					t.Fatalf("%d args over the limit", len(cmd.args))
				}
				total := len(cmd.name)
				for _, a := range cmd.args {
					total += len(a.s)
				}
				if total > lim.maxLine+int(lim.maxLiteral) {
					t.Fatalf("command of %d octets over the limits", total)
				}
				continue
			case errors.As(err, &se):
				continue
			}
			return // EOF, fatal, literal too large: the session stops reading
		}
		t.Fatal("parser made no progress")
	})
}
