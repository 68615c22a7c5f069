package dovecot

import (
	"bufio"
	"bytes"
	"fmt"
	"strings"

	"github.com/postern/postern/store/maildir"
)

// SubscriptionsFile is the name, at the Maildir root, of Dovecot's subscription list.
const SubscriptionsFile = "subscriptions"

// ParseSubscriptions parses Dovecot's subscriptions file and returns the subscribed
// folders as Postern names ('/' separated UTF-8). Version 2 files ("V\t2", a blank line,
// then one name per line with '\t' between hierarchy levels) and the older form (one
// name per line with the namespace separator, '.' for Maildir++) are both read. Names
// are modified UTF-7 as IMAP clients sent them. Names that do not decode are returned
// in bad, not guessed at.
func ParseSubscriptions(data []byte) (names, bad []string, err error) {
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 0, 512), maxUIDListLine)
	sep := "."
	first := true
	for sc.Scan() {
		line := strings.TrimRight(sc.Text(), "\r")
		if first {
			first = false
			if strings.HasPrefix(line, "V\t") {
				if line != "V\t2" {
					return nil, nil, fmt.Errorf("subscriptions: unknown version %q", line)
				}
				sep = "\t"
				continue
			}
		}
		if line == "" {
			continue
		}
		n, err := folderFromIMAP(line, sep)
		if err != nil {
			bad = append(bad, line)
			continue
		}
		names = append(names, n)
	}
	if err := sc.Err(); err != nil {
		return nil, nil, fmt.Errorf("subscriptions: %w", err)
	}
	return names, bad, nil
}

// folderFromIMAP converts a modified UTF-7 name with separator sep into a Postern name.
func folderFromIMAP(name, sep string) (string, error) {
	parts := strings.Split(name, sep)
	for i, p := range parts {
		d, err := maildir.DecodeUTF7(p)
		if err != nil {
			return "", err
		}
		if p == "" {
			return "", fmt.Errorf("empty component")
		}
		parts[i] = d
	}
	out := strings.Join(parts, "/")
	if strings.EqualFold(out, maildir.Inbox) {
		return maildir.Inbox, nil
	}
	return out, nil
}
