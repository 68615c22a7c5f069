package maildir

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// infoSep starts the "info" part of a Maildir file name; "2," means the
// rest is flag letters (cr.yp.to/proto/maildir.html).
const infoSep = ":2,"

// IMAP system flags (RFC 3501 2.3.2) and the one keyword Maildir has a
// letter for.
const (
	FlagSeen      = `\Seen`
	FlagAnswered  = `\Answered`
	FlagFlagged   = `\Flagged`
	FlagDeleted   = `\Deleted`
	FlagDraft     = `\Draft`
	FlagRecent    = `\Recent`
	FlagForwarded = "$Forwarded" // Maildir "P" (passed), RFC 5788 registry
)

// systemLetters maps Maildir's upper-case flag letters to IMAP flags.
var systemLetters = map[byte]string{
	'D': FlagDraft,
	'F': FlagFlagged,
	'P': FlagForwarded,
	'R': FlagAnswered,
	'S': FlagSeen,
	'T': FlagDeleted,
}

// letterFor returns the upper-case letter for a system flag (case-
// insensitive, as IMAP flags are).
func letterFor(flag string) (byte, bool) {
	for l, f := range systemLetters {
		if strings.EqualFold(f, flag) {
			return l, true
		}
	}
	return 0, false
}

// SplitInfo splits a Maildir file name into its base (the unique part with
// its size fields, which stays the same when flags change) and the flag
// letters of a ":2," info, sorted and without duplicates. Names without an
// info, or with an info of another version, have no letters.
func SplitInfo(filename string) (base, letters string) {
	i := strings.IndexByte(filename, ':')
	if i < 0 {
		return filename, ""
	}
	base = filename[:i]
	if !strings.HasPrefix(filename[i:], infoSep) {
		return base, ""
	}
	ls := []byte(filename[i+len(infoSep):])
	ls = slices.DeleteFunc(ls, func(c byte) bool {
		return !(c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z')
	})
	slices.Sort(ls)
	return base, string(slices.Compact(ls))
}

// ParseInfo splits a Maildir file name into its base and its flags as IMAP
// flags: system letters become \Seen, \Answered and so on, keyword letters
// become names through kw (the folder's dovecot-keywords). Letters that kw
// does not know, or all keyword letters when kw is nil, are left out, as are
// upper-case letters Maildir does not define.
func ParseInfo(filename string, kw *Keywords) (base string, flags []string) {
	base, letters := SplitInfo(filename)
	return base, lettersToFlags(letters, kw)
}

func lettersToFlags(letters string, kw *Keywords) []string {
	var flags []string
	for i := 0; i < len(letters); i++ {
		c := letters[i]
		if f, ok := systemLetters[c]; ok {
			flags = append(flags, f)
		} else if name, ok := kw.Name(c); ok {
			flags = append(flags, name)
		}
	}
	return flags
}

// infoName returns base with the ":2,<letters>" info, or base alone (for
// new/) when inNew is true.
func infoName(base, letters string, inNew bool) string {
	if inNew {
		return base
	}
	return base + infoSep + letters
}

// sortLetters sorts and de-duplicates flag letters.
func sortLetters(ls []byte) string {
	slices.Sort(ls)
	return string(slices.Compact(ls))
}

// splitFlags separates IMAP flags into Maildir system letters and keyword
// names. \Recent is dropped (it is not stored: RFC 3501 2.3.2, it is a
// session property); any other unknown system flag is an error.
func splitFlags(flags []string) (letters []byte, keywords []string, err error) {
	for _, f := range flags {
		if l, ok := letterFor(f); ok {
			letters = append(letters, l)
			continue
		}
		if strings.EqualFold(f, FlagRecent) {
			continue
		}
		if strings.HasPrefix(f, `\`) {
			return nil, nil, fmt.Errorf("maildir: unknown system flag %q", f)
		}
		if err := checkKeyword(f); err != nil {
			return nil, nil, err
		}
		keywords = append(keywords, f)
	}
	return letters, keywords, nil
}

// SizeFields returns the S= (file size) and W= (size with CRLF line
// endings) values of a file name's base, or -1 for each one not present.
func SizeFields(filename string) (size, vsize int64) {
	base, _ := SplitInfo(filename)
	size, vsize = -1, -1
	i := strings.IndexByte(base, ',')
	if i < 0 {
		return
	}
	for field := range strings.SplitSeq(base[i+1:], ",") {
		k, v, ok := strings.Cut(field, "=")
		if !ok {
			continue
		}
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 0 {
			continue
		}
		switch k {
		case "S":
			size = n
		case "W":
			vsize = n
		}
	}
	return
}

// FileName returns the file name of the message with base and flags in a folder whose
// keyword table is kw (see EnsureKeywords): base alone when inNew and flags is empty
// (a file for new/), base:2,LETTERS otherwise. A keyword kw has no letter for is an
// error.
func FileName(base string, flags []string, kw *Keywords, inNew bool) (string, error) {
	letters, kws, err := splitFlags(flags)
	if err != nil {
		return "", err
	}
	for _, k := range kws {
		l, ok := kw.Letter(k)
		if !ok {
			return "", fmt.Errorf("maildir: keyword %q has no letter in the folder", k)
		}
		letters = append(letters, l)
	}
	return infoName(base, sortLetters(letters), inNew && len(letters) == 0), nil
}
