package maildir

import (
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"unicode/utf16"
	"unicode/utf8"
)

// utf7Encoding is RFC 3501's "modified BASE64": ',' replaces '/', no padding.
var utf7Encoding = base64.NewEncoding("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+,").
	WithPadding(base64.NoPadding).Strict()

var errUTF7 = errors.New("maildir: invalid modified UTF-7")

// EncodeUTF7 encodes a UTF-8 string in modified UTF-7 (RFC 3501 section
// 5.1.3): printable US-ASCII except '&' stands for itself, '&' is "&-", and
// runs of other characters are UTF-16BE in modified base64 between '&' and
// '-'. It fails on invalid UTF-8.
func EncodeUTF7(s string) (string, error) {
	if !utf8.ValidString(s) {
		return "", fmt.Errorf("%w: name is not valid UTF-8", errUTF7)
	}
	var b strings.Builder
	var run []rune
	flush := func() {
		if len(run) == 0 {
			return
		}
		units := utf16.Encode(run)
		raw := make([]byte, 0, 2*len(units))
		for _, u := range units {
			raw = append(raw, byte(u>>8), byte(u))
		}
		b.WriteByte('&')
		b.WriteString(utf7Encoding.EncodeToString(raw))
		b.WriteByte('-')
		run = run[:0]
	}
	for _, r := range s {
		if r < 0x20 || r > 0x7e {
			run = append(run, r)
			continue
		}
		flush()
		if r == '&' {
			b.WriteString("&-")
		} else {
			b.WriteRune(r)
		}
	}
	flush()
	return b.String(), nil
}

// DecodeUTF7 decodes modified UTF-7 to UTF-8. It accepts only the canonical
// form EncodeUTF7 produces (no encoded printable ASCII, no adjacent encoded
// runs, no stray bits), so that decoding and re-encoding give back the same
// directory name.
func DecodeUTF7(s string) (string, error) {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < 0x20 || c > 0x7e {
			return "", fmt.Errorf("%w: byte %#x", errUTF7, c)
		}
		if c != '&' {
			b.WriteByte(c)
			continue
		}
		end := strings.IndexByte(s[i+1:], '-')
		if end < 0 {
			return "", fmt.Errorf("%w: unterminated '&'", errUTF7)
		}
		enc := s[i+1 : i+1+end]
		i += end + 1
		if enc == "" {
			b.WriteByte('&')
			continue
		}
		if i+1 < len(s) && s[i+1] == '&' && !strings.HasPrefix(s[i+1:], "&-") {
			return "", fmt.Errorf("%w: adjacent encoded runs", errUTF7)
		}
		if err := decodeRun(&b, enc); err != nil {
			return "", err
		}
	}
	return b.String(), nil
}

func decodeRun(b *strings.Builder, enc string) error {
	raw, err := utf7Encoding.DecodeString(enc)
	if err != nil || len(raw)%2 != 0 {
		return fmt.Errorf("%w: bad base64 run %q", errUTF7, enc)
	}
	units := make([]uint16, len(raw)/2)
	for j := range units {
		units[j] = uint16(raw[2*j])<<8 | uint16(raw[2*j+1])
	}
	for j := 0; j < len(units); j++ {
		u := units[j]
		var r rune
		switch {
		case utf16.IsSurrogate(rune(u)):
			if j+1 >= len(units) {
				return fmt.Errorf("%w: lone surrogate", errUTF7)
			}
			r = utf16.DecodeRune(rune(u), rune(units[j+1]))
			if r == utf8.RuneError {
				return fmt.Errorf("%w: bad surrogate pair", errUTF7)
			}
			j++
		default:
			r = rune(u)
			if r >= 0x20 && r <= 0x7e {
				return fmt.Errorf("%w: encoded printable ASCII", errUTF7)
			}
		}
		b.WriteRune(r)
	}
	return nil
}
