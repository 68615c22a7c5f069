package dovecot

import (
	"maps"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func writeConf(t *testing.T, dir, name, text string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestDovecotConfSpecialUse: mailbox sections of the private namespaces, found through
// !include globs, repeated namespace blocks and protocol sections, with quoted names,
// comments, the namespace's separator and prefix; shared namespaces are left out.
func TestDovecotConfSpecialUse(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	main := writeConf(t, dir, "dovecot.conf", `# main
protocols = imap lmtp
mail_location = maildir:~/Maildir
!include conf.d/*.conf
!include_try local.conf   # missing: fine
`)
	writeConf(t, dir, "conf.d/10-mail.conf", `namespace inbox {
  inbox = yes
  separator = .
  prefix = INBOX.
}
namespace shared {
  type = shared
  mailbox Ignored {
    special_use = \Archive
  }
}
`)
	writeConf(t, dir, "conf.d/15-mailboxes.conf", `namespace inbox {
  mailbox Drafts {
    special_use = \Drafts
  }
  mailbox Spam {
    auto = subscribe
    special_use = \junk # case does not matter
  }
  mailbox "Sent Messages" {
    special_use = "\\Sent"
  }
  mailbox INBOX.Old.Trash {
    special_use = \Trash \Important
  }
  mailbox Quarantine {
    auto = create
  }
}
protocol imap {
  namespace inbox {
    mailbox Archives {
      special_use = \Archive
    }
  }
}
`)
	conf, err := ReadDovecotConf(OSConfFiles{}, main)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"Drafts": `\Drafts`, "Spam": `\Junk`, "Sent Messages": `\Sent`, "Old/Trash": `\Trash`, "Archives": `\Archive`}
	if !maps.Equal(conf.SpecialUse, want) {
		t.Errorf("special use %v, want %v", conf.SpecialUse, want)
	}
	if len(conf.Warnings) != 1 || !strings.Contains(conf.Warnings[0], `\Important`) {
		t.Errorf("warnings %q, want one for \\Important", conf.Warnings)
	}
}

// TestDebianDovecotConf reads the configuration Debian's dovecot-core installs, with
// its conf.d includes: 15-mailboxes.conf names Drafts, Junk, Trash, Sent and "Sent
// Messages".
func TestDebianDovecotConf(t *testing.T) {
	t.Parallel()
	const path = "/etc/dovecot/dovecot.conf"
	if _, err := os.Stat(path); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("Debian's dovecot-core is part of the CI deps: %v", err)
		}
		t.Skip("no Dovecot installed")
	}
	conf, err := ReadDovecotConf(OSConfFiles{}, path)
	if err != nil {
		t.Fatal(err)
	}
	for name, su := range map[string]string{"Drafts": `\Drafts`, "Junk": `\Junk`, "Trash": `\Trash`, "Sent": `\Sent`, "Sent Messages": `\Sent`} {
		if conf.SpecialUse[name] != su {
			t.Errorf("%s: %q, want %q (all: %v)", name, conf.SpecialUse[name], su, conf.SpecialUse)
		}
	}
}

// TestDovecotConfMailboxDefaults: Dovecot 2.4's @mailbox_defaults = english names
// Drafts, Junk, Sent and Trash, under what a mailbox section says; 2.4's setting names
// (namespace_prefix, mailbox_list_layout = fs: '/' separates).
func TestDovecotConfMailboxDefaults(t *testing.T) {
	t.Parallel()
	conf, err := ParseDovecotConf([]byte(`@mailbox_defaults = english
mail_driver = maildir
mailbox_list_layout = fs
namespace inbox {
  namespace_prefix = INBOX/
  mailbox Junk {
    special_use = \Archive
  }
  mailbox INBOX/Lists/Go {
    special_use = \Flagged
  }
}
`), "2.4.conf", nil)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"Drafts": `\Drafts`, "Junk": `\Archive`, "Sent": `\Sent`, "Trash": `\Trash`, "Lists/Go": `\Flagged`}
	if !maps.Equal(conf.SpecialUse, want) {
		t.Errorf("special use %v, want %v", conf.SpecialUse, want)
	}
}

func TestDovecotConfErrors(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	loop := writeConf(t, dir, "loop.conf", "!include loop.conf\n")
	missing := writeConf(t, dir, "missing.conf", "!include nothing-here.conf\n")
	for _, tc := range []struct{ path, want string }{
		{loop, "deeper than"},
		{missing, "no such file"},
		{writeConf(t, dir, "open.conf", "namespace inbox {\n  mailbox Sent {\n"), "not closed"},
		{writeConf(t, dir, "close.conf", "}\n"), "without an open section"},
		{writeConf(t, dir, "junk.conf", "namespace inbox {\n  mailbox Sent { special_use = \\Sent }\n}\n"), "line 2"},
		{writeConf(t, dir, "quote.conf", "a = \"open\n"), "unterminated"},
	} {
		if _, err := ReadDovecotConf(OSConfFiles{}, tc.path); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error %v, want %q", filepath.Base(tc.path), err, tc.want)
		}
	}
	if _, err := ParseDovecotConf([]byte("!include conf.d/*.conf\n"), "(stdin)", nil); err == nil || !strings.Contains(err.Error(), "doveconf -n") {
		t.Errorf("an include without files to read: %v", err)
	}
}

func FuzzParseDovecotConf(f *testing.F) {
	f.Add("namespace inbox {\n  separator = /\n  mailbox \"A/B\" {\n    special_use = \\Junk\n  }\n}\n")
	f.Add("mailbox Sent {\n special_use = \\Sent \\Archive\n}\n# c\nx = 'y' # z\n")
	f.Fuzz(func(t *testing.T, s string) {
		conf, err := ParseDovecotConf([]byte(s), "fuzz.conf", nil)
		if err != nil {
			return
		}
		for name, su := range conf.SpecialUse {
			if name == "" || su == "" {
				t.Fatalf("empty entry %q=%q", name, su)
			}
			if _, ok := specialUseAttr(su); !ok {
				t.Fatalf("unknown attribute %q", su)
			}
		}
	})
}
