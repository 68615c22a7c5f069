package maildir

import (
	"errors"
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Separator is the hierarchy separator clients see in folder names.
const Separator = '/'

// Inbox is the name of the folder stored at the Maildir root. Any case
// spelling of it ("inbox", "Inbox") means the same folder (RFC 3501 5.1).
const Inbox = "INBOX"

// maxDirName is the longest directory name most file systems allow.
const maxDirName = 255

// ErrBadName is wrapped by every refusal of a folder name.
var ErrBadName = errors.New("maildir: invalid folder name")

func badName(name, why string) error {
	return fmt.Errorf("%w %q: %s", ErrBadName, name, why)
}

// FolderDirName maps a folder name as a client gives it (UTF-8, components
// separated by '/') to the Maildir++ directory name under the user's root:
// "" for INBOX, ".Lists.golang" for "Lists/golang". A first component that is
// INBOX in any case is stored as "INBOX" (".INBOX.Sub").
//
// It refuses, wrapping ErrBadName: the empty name; empty components (a
// leading, trailing or doubled '/'); components that begin with '.' (which
// covers "." and ".."); NUL and other control characters; the IMAP LIST
// wildcards '*' and '%'; invalid UTF-8; and names whose directory name would
// be longer than 255 bytes. Every accepted name maps to a single directory
// directly inside the root.
func FolderDirName(name string) (string, error) {
	if name == "" {
		return "", badName(name, "empty")
	}
	if strings.EqualFold(name, Inbox) {
		return "", nil
	}
	if !utf8.ValidString(name) {
		return "", badName(name, "not UTF-8")
	}
	comps := strings.Split(name, string(Separator))
	var b strings.Builder
	for i, c := range comps {
		if err := checkComponent(name, c); err != nil {
			return "", err
		}
		if i == 0 && strings.EqualFold(c, Inbox) {
			c = Inbox
		}
		enc, err := EncodeUTF7(c)
		if err != nil {
			return "", badName(name, err.Error())
		}
		b.WriteByte('.')
		b.WriteString(escapeComponent(enc))
	}
	dir := b.String()
	if len(dir) > maxDirName {
		return "", badName(name, "too long")
	}
	return dir, nil
}

func checkComponent(name, c string) error {
	switch {
	case c == "":
		return badName(name, "empty component")
	case c[0] == '.':
		return badName(name, "component starts with '.'")
	case strings.ContainsAny(c, "*%"):
		return badName(name, "contains a wildcard")
	}
	for _, r := range c {
		if unicode.IsControl(r) {
			return badName(name, "contains a control character")
		}
	}
	return nil
}

// escapeComponent hides the on-disk separator '.' (and the escape character
// itself) inside one encoded component, the way Dovecot's listescape does.
func escapeComponent(s string) string {
	if !strings.ContainsAny(s, `.\`) {
		return s
	}
	r := strings.NewReplacer(`\`, `\5c`, `.`, `\2e`)
	return r.Replace(s)
}

func unescapeComponent(s string) (string, error) {
	if !strings.Contains(s, `\`) {
		return s, nil
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] != '\\' {
			b.WriteByte(s[i])
			continue
		}
		switch {
		case strings.HasPrefix(s[i:], `\2e`):
			b.WriteByte('.')
		case strings.HasPrefix(s[i:], `\5c`):
			b.WriteByte('\\')
		default:
			return "", fmt.Errorf("%w: bad escape in %q", ErrBadName, s)
		}
		i += 2
	}
	return b.String(), nil
}

// FolderName maps a directory name found under a Maildir root back to the
// client's folder name: "" to INBOX, ".Lists.golang" to "Lists/golang". It
// fails (wrapping ErrBadName) for directory names FolderDirName would not
// produce, such as tmp, "..", or names that are not valid modified UTF-7.
func FolderName(dirName string) (string, error) {
	if dirName == "" {
		return Inbox, nil
	}
	if len(dirName) < 2 || dirName[0] != '.' {
		return "", fmt.Errorf("%w: %q is not a Maildir++ folder", ErrBadName, dirName)
	}
	comps := strings.Split(dirName[1:], ".")
	for i, c := range comps {
		unesc, err := unescapeComponent(c)
		if err != nil {
			return "", err
		}
		dec, err := DecodeUTF7(unesc)
		if err != nil {
			return "", fmt.Errorf("%w: %q: %w", ErrBadName, dirName, err)
		}
		comps[i] = dec
	}
	name := strings.Join(comps, string(Separator))
	// Only names that map back to exactly this directory are folders;
	// anything else was not made by us (or by a compatible tool).
	if back, err := FolderDirName(name); err != nil || back != dirName {
		return "", fmt.Errorf("%w: %q is not a canonical folder directory", ErrBadName, dirName)
	}
	return name, nil
}
