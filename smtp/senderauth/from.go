package senderauth

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net/mail"
	"strings"
)

// maxHeaderBytes bounds how much of a message is read looking for From:.
const maxHeaderBytes = 1 << 20

var errNoFrom = errors.New("no From: header field")

// FromDomains returns the distinct domains of the addresses in the message's
// single From: field (RFC 7489 section 3.1: the RFC5322.From domain), lower
// case. A header with no From: field, more than one, or one that does not
// parse is an error: such a message cannot be evaluated.
func FromDomains(r io.Reader) ([]string, error) {
	values, err := headerValues(r, "From")
	if err != nil {
		return nil, err
	}
	switch len(values) {
	case 0:
		return nil, errNoFrom
	case 1:
	default:
		return nil, fmt.Errorf("%d From: header fields", len(values))
	}
	addrs, err := mail.ParseAddressList(values[0])
	if err != nil {
		return nil, fmt.Errorf("malformed From: header field: %w", err)
	}
	var out []string
	seen := map[string]bool{}
	for _, a := range addrs {
		at := strings.LastIndexByte(a.Address, '@')
		if at < 0 || at == len(a.Address)-1 {
			return nil, fmt.Errorf("address %q in From: has no domain", a.Address)
		}
		d := strings.ToLower(strings.TrimSuffix(a.Address[at+1:], "."))
		if !seen[d] {
			seen[d] = true
			out = append(out, d)
		}
	}
	if len(out) == 0 {
		return nil, errNoFrom
	}
	return out, nil
}

// headerValues returns the unfolded values of every field called name in the
// header block of r. It is lenient: a line that is neither a field nor a
// continuation is skipped, so it cannot hide the fields after it.
func headerValues(r io.Reader, name string) ([]string, error) {
	br := bufio.NewReader(io.LimitReader(r, maxHeaderBytes))
	var values []string
	cur := -1 // index in values of the field being continued, -1 for none
	for {
		line, err := br.ReadString('\n')
		if err != nil && err != io.EOF {
			return nil, err
		}
		text := strings.TrimRight(line, "\r\n")
		if text == "" {
			return values, nil // blank line (end of header) or end of input
		}
		switch {
		case text[0] == ' ' || text[0] == '\t':
			if cur >= 0 {
				values[cur] += text
			}
		default:
			cur = -1
			k, v, ok := strings.Cut(text, ":")
			if ok && strings.EqualFold(strings.TrimRight(k, " \t"), name) {
				values = append(values, strings.TrimSpace(v))
				cur = len(values) - 1
			}
		}
		if err == io.EOF {
			return values, nil
		}
	}
}
