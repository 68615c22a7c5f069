package maildir

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/postern/postern/store/durable"
)

// KeywordsFile is the name, inside a folder directory, of Dovecot's list of
// the folder's keywords: one "<index> <name>" line each, index 0 being
// letter 'a' in file names.
const KeywordsFile = "dovecot-keywords"

// MaxKeywords is how many keywords fit in the letters a-z.
const MaxKeywords = 26

// ErrTooManyKeywords is returned when a folder already has 26 keywords.
var ErrTooManyKeywords = errors.New("maildir: folder has 26 keywords already")

// maxKeywordLen bounds a keyword so the file stays small.
const maxKeywordLen = 128

// Keywords is a folder's keyword table. The zero value and nil are empty.
type Keywords struct {
	names [MaxKeywords]string
}

// LoadKeywords reads folderDir's dovecot-keywords. A missing file is an
// empty table; malformed lines are skipped (the file may come from another
// tool).
func LoadKeywords(folderDir string) (*Keywords, error) {
	data, err := os.ReadFile(filepath.Join(folderDir, KeywordsFile))
	if errors.Is(err, fs.ErrNotExist) {
		return &Keywords{}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("maildir: read keywords: %w", err)
	}
	return ParseKeywords(data), nil
}

// ParseKeywords parses the content of a dovecot-keywords file.
func ParseKeywords(data []byte) *Keywords {
	k := &Keywords{}
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		idx, name, ok := strings.Cut(sc.Text(), " ")
		if !ok {
			continue
		}
		i, err := strconv.Atoi(idx)
		if err != nil || i < 0 || i >= MaxKeywords || checkKeyword(name) != nil {
			continue
		}
		if _, dup := k.Letter(name); dup {
			continue
		}
		k.names[i] = name
	}
	return k
}

// Name returns the keyword for letter ('a'..'z').
func (k *Keywords) Name(letter byte) (string, bool) {
	if k == nil || letter < 'a' || letter > 'z' {
		return "", false
	}
	n := k.names[letter-'a']
	return n, n != ""
}

// Letter returns the letter of keyword name, compared case-insensitively
// (IMAP keywords are, RFC 9051 2.3.2).
func (k *Keywords) Letter(name string) (byte, bool) {
	if k == nil {
		return 0, false
	}
	for i, n := range k.names {
		if n != "" && strings.EqualFold(n, name) {
			return byte('a' + i), true
		}
	}
	return 0, false
}

// Names returns the keywords in letter order.
func (k *Keywords) Names() []string {
	if k == nil {
		return nil
	}
	var out []string
	for _, n := range k.names {
		if n != "" {
			out = append(out, n)
		}
	}
	return out
}

// add gives name the first free letter. It reports whether the table changed.
func (k *Keywords) add(name string) (bool, error) {
	if _, ok := k.Letter(name); ok {
		return false, nil
	}
	for i, n := range k.names {
		if n == "" {
			k.names[i] = name
			return true, nil
		}
	}
	return false, fmt.Errorf("%w (adding %q)", ErrTooManyKeywords, name)
}

// Marshal renders the table in dovecot-keywords form.
func (k *Keywords) Marshal() []byte {
	var b bytes.Buffer
	for i, n := range k.names {
		if n != "" {
			fmt.Fprintf(&b, "%d %s\n", i, n)
		}
	}
	return b.Bytes()
}

// EnsureKeywords returns folderDir's keyword table after giving a letter to
// each of names that lacks one, writing the file durably when it changed.
// The read-modify-write holds an exclusive flock(2) on the folder directory,
// so concurrent callers (goroutines or processes) never hand out one letter
// twice.
func EnsureKeywords(folderDir string, names []string) (*Keywords, error) {
	for _, n := range names {
		if err := checkKeyword(n); err != nil {
			return nil, err
		}
	}
	unlock, err := lockDir(folderDir)
	if err != nil {
		return nil, err
	}
	defer unlock()
	k, err := LoadKeywords(folderDir)
	if err != nil {
		return nil, err
	}
	changed := false
	for _, n := range names {
		c, err := k.add(n)
		if err != nil {
			return nil, err
		}
		changed = changed || c
	}
	if changed {
		if err := durable.WriteFile(filepath.Join(folderDir, KeywordsFile), k.Marshal(), 0o600); err != nil {
			return nil, fmt.Errorf("maildir: write keywords: %w", err)
		}
	}
	return k, nil
}

// lockDir takes an exclusive flock on dir. flock locks belong to the open
// file description, so two goroutines of one process exclude each other too.
func lockDir(dir string) (unlock func(), err error) {
	d, err := os.Open(dir)
	if err != nil {
		return nil, fmt.Errorf("maildir: lock: %w", err)
	}
	fd := int(d.Fd())
	for {
		err = unix.Flock(fd, unix.LOCK_EX)
		if err != unix.EINTR {
			break
		}
	}
	if err != nil {
		d.Close()
		return nil, fmt.Errorf("maildir: flock %s: %w", dir, err)
	}
	return func() {
		unix.Flock(fd, unix.LOCK_UN)
		d.Close()
	}, nil
}

// checkKeyword accepts an IMAP flag-keyword (an atom, RFC 3501 section 9)
// that is short enough and does not start with '\'.
func checkKeyword(k string) error {
	if k == "" || len(k) > maxKeywordLen {
		return fmt.Errorf("maildir: bad keyword length %d", len(k))
	}
	for i := 0; i < len(k); i++ {
		c := k[i]
		if c <= 0x20 || c >= 0x7f || strings.IndexByte(`(){%*"\]`, c) >= 0 {
			return fmt.Errorf("maildir: bad character %q in keyword %q", c, k)
		}
	}
	return nil
}
