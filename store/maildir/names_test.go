package maildir

import (
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestEncodeUTF7(t *testing.T) {
	t.Parallel()
	cases := []struct{ in, out string }{
		{"INBOX", "INBOX"},
		{"Entwürfe", "Entw&APw-rfe"},
		{"日本語", "&ZeVnLIqe-"},
		// The example of RFC 3501 section 5.1.3.
		{"~peter/mail/台北/日本語", "~peter/mail/&U,BTFw-/&ZeVnLIqe-"},
		{"A&B", "A&-B"},
		{"&", "&-"},
		{"😀", "&2D3eAA-"},
		{"a\u00e9\u00e9b", "a&AOkA6Q-b"},
	}
	for _, c := range cases {
		got, err := EncodeUTF7(c.in)
		if err != nil || got != c.out {
			t.Errorf("EncodeUTF7(%q) = %q, %v; want %q", c.in, got, err, c.out)
		}
		back, err := DecodeUTF7(c.out)
		if err != nil || back != c.in {
			t.Errorf("DecodeUTF7(%q) = %q, %v; want %q", c.out, back, err, c.in)
		}
	}
}

func TestDecodeUTF7Refuses(t *testing.T) {
	t.Parallel()
	for _, in := range []string{
		"&ZeVnLIqe",          // unterminated
		"&AGE-",              // encodes 'a', which must be literal
		"&2D0-",              // lone surrogate
		"&ZeVnLIqe-&U,BTFw-", // adjacent runs
		"&Z-",                // stray bits
		"a\x01b",             // control character
		"é",                  // raw 8-bit
		"&!!-",               // not base64
	} {
		if got, err := DecodeUTF7(in); err == nil {
			t.Errorf("DecodeUTF7(%q) = %q, want error", in, got)
		}
	}
	if _, err := EncodeUTF7("\xff"); err == nil {
		t.Error("EncodeUTF7 accepted invalid UTF-8")
	}
}

func TestFolderDirName(t *testing.T) {
	t.Parallel()
	cases := []struct{ in, out string }{
		{"INBOX", ""},
		{"inbox", ""},
		{"Inbox", ""},
		{"Sent", ".Sent"},
		{"Lists/golang", ".Lists.golang"},
		{"inbox/Sub", ".INBOX.Sub"},
		{"Lists/INBOX", ".Lists.INBOX"},
		{"Entwürfe", ".Entw&APw-rfe"},
		{"Projects/日本語", ".Projects.&ZeVnLIqe-"},
		{"v1.2", `.v1\2e2`},
		{`back\slash`, `.back\5cslash`},
		{"Mr. Smith/a&b", `.Mr\2e Smith.a&-b`},
	}
	for _, c := range cases {
		got, err := FolderDirName(c.in)
		if err != nil || got != c.out {
			t.Errorf("FolderDirName(%q) = %q, %v; want %q", c.in, got, err, c.out)
			continue
		}
		want := c.in
		if strings.EqualFold(want, Inbox) {
			want = Inbox
		} else if first, rest, ok := strings.Cut(want, "/"); ok && strings.EqualFold(first, Inbox) {
			want = Inbox + "/" + rest
		}
		back, err := FolderName(got)
		if err != nil || back != want {
			t.Errorf("FolderName(%q) = %q, %v; want %q", got, back, err, want)
		}
	}
}

func TestFolderDirNameRefuses(t *testing.T) {
	t.Parallel()
	for _, in := range []string{
		"", ".", "..", "../../etc", "a/../../b", "INBOX/..", "INBOX/.", "Foo\x00",
		"/", "/abs", "a/", "a//b", ".hidden", "a/.b", "...", "a/...",
		"tab\there", "del\x7f", "c1\u0085", "star*", "pct%", "\xff\xfe",
		strings.Repeat("x", 255), // with the leading dot it is 256 bytes
		strings.Repeat("é", 100), // 100 runes in UTF-7 are longer still
	} {
		if got, err := FolderDirName(in); !errors.Is(err, ErrBadName) {
			t.Errorf("FolderDirName(%q) = %q, %v; want ErrBadName", in, got, err)
		}
	}
	if _, err := FolderDirName(strings.Repeat("x", 254)); err != nil {
		t.Errorf("254-byte name refused: %v", err)
	}
}

func TestFolderNameRefuses(t *testing.T) {
	t.Parallel()
	for _, in := range []string{
		"tmp", "cur", ".", "..", "...", ".a..b", ".a.", `.a\2`, `.a\41`,
		".&AGE-", ".inbox.x", ".a*", "..deleted-1.M1P1Q1.host",
	} {
		if got, err := FolderName(in); err == nil {
			t.Errorf("FolderName(%q) = %q, want error", in, got)
		}
	}
}

func FuzzFolderName(f *testing.F) {
	for _, s := range []string{
		"INBOX", "Lists/golang", "../../etc", "a/../../b", ".", "INBOX/..", "Foo\x00",
		"Entwürfe", "日本語/子", "v1.2", `a\b`, "a&b", "&ZeVnLIqe-", "inbox/x",
	} {
		f.Add(s)
	}
	root := filepath.Join("/", "srv", "mail", "user")
	f.Fuzz(func(t *testing.T, name string) {
		m := &Maildir{Root: root}
		p, err := m.FolderDir(name)
		if err != nil {
			if !errors.Is(err, ErrBadName) {
				t.Fatalf("FolderDir(%q): error %v does not wrap ErrBadName", name, err)
			}
			return
		}
		if strings.EqualFold(name, Inbox) {
			if p != root {
				t.Fatalf("INBOX mapped to %q", p)
			}
			return
		}
		dirName := filepath.Base(p)
		if filepath.Dir(p) != root || dirName == "." || dirName == ".." || dirName[0] != '.' {
			t.Fatalf("FolderDir(%q) = %q, not a folder directly inside root", name, p)
		}
		if strings.ContainsAny(dirName, "/\x00") || len(dirName) > maxDirName || !utf8.ValidString(dirName) {
			t.Fatalf("FolderDir(%q) = %q, bad directory name", name, dirName)
		}
		back, err := FolderName(dirName)
		if err != nil {
			t.Fatalf("FolderName(%q) of accepted %q: %v", dirName, name, err)
		}
		if again, _ := FolderDirName(back); again != dirName {
			t.Fatalf("round trip %q -> %q -> %q -> %q", name, dirName, back, again)
		}
	})
}

func FuzzDecodeUTF7(f *testing.F) {
	for _, s := range []string{"&ZeVnLIqe-", "A&-B", "&2D3eAA-", "&", "&-&-", "&AGE-"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		dec, err := DecodeUTF7(s)
		if err != nil {
			return
		}
		enc, err := EncodeUTF7(dec)
		if err != nil || enc != s {
			t.Fatalf("DecodeUTF7(%q) = %q, re-encodes to %q, %v", s, dec, enc, err)
		}
	})
}
