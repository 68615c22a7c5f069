package initcfg

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/postern/postern/server/config"
)

func TestWriteWithRelay(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	path := filepath.Join(dir, "etc", "postern.toml")
	res, err := Write(Options{ConfigPath: path, Domain: "example.com", Hostname: "mail.example.com",
		StateDir: filepath.Join(dir, "state"), Relay: "fastmail", RelayUser: "you@fastmail.com", RelayPassword: "app-pw"})
	if err != nil {
		t.Fatal(err)
	}
	if res.Config.Hostname != "mail.example.com" || res.Config.StateDir != filepath.Join(dir, "state") {
		t.Errorf("config hostname %q state_dir %q", res.Config.Hostname, res.Config.StateDir)
	}
	if res.Config.Relay == nil || res.Config.Relay.Host != "smtp.fastmail.com" || res.Config.Relay.Port != 465 || res.Config.Relay.Username != "you@fastmail.com" {
		t.Errorf("relay %+v, want Fastmail's preset with the user", res.Config.Relay)
	}
	wantPW := filepath.Join(dir, "etc", "relay.password")
	if res.PasswordFile != wantPW {
		t.Errorf("password file %q, want %q", res.PasswordFile, wantPW)
	}
	fi, err := os.Stat(wantPW)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("password file: %v %v, want mode 0600", fi, err)
	}
	if data, _ := os.ReadFile(wantPW); string(data) != "app-pw\n" {
		t.Errorf("password file holds %q", data)
	}
	// What was written loads as what was returned: the file is the source of truth.
	loaded, err := config.Load(path)
	if err != nil {
		t.Fatalf("loading the written config: %v", err)
	}
	if loaded.Relay == nil || loaded.Relay.PasswordFile != wantPW || loaded.Hostname != "mail.example.com" {
		t.Errorf("loaded relay %+v hostname %q", loaded.Relay, loaded.Hostname)
	}
}

func TestWriteDirectDelivery(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "postern.toml")
	res, err := Write(Options{ConfigPath: path, Domain: "example.com", Hostname: "mail.example.com"})
	if err != nil {
		t.Fatal(err)
	}
	if res.PasswordFile != "" || res.Config.Relay != nil {
		t.Errorf("no relay asked for, got password file %q relay %+v", res.PasswordFile, res.Config.Relay)
	}
	if res.Config.StateDir != config.Default().StateDir {
		t.Errorf("state_dir %q, want the default %q", res.Config.StateDir, config.Default().StateDir)
	}
	if junk, trash := res.Config.Mailbox.Ages(); junk != 30*24*time.Hour || trash != 30*24*time.Hour {
		t.Errorf("init's config expunges Junk after %v and Trash after %v, want 30 days each", junk, trash)
	}
	data, _ := os.ReadFile(path)
	if strings.Contains(string(data), "[relay]") || strings.Contains(string(data), "state_dir") {
		t.Errorf("config writes what was not asked for:\n%s", data)
	}
}

func TestWriteRefusesAndLeavesNothing(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		o    Options
		want string
	}{
		{"no domain", Options{Hostname: "mail.example.com"}, "--domain and --hostname are required"},
		{"no hostname", Options{Domain: "example.com"}, "--domain and --hostname are required"},
		{"unknown relay", Options{Domain: "example.com", Hostname: "mail.example.com", Relay: "nosuch"}, `unknown relay "nosuch" (known: brevo, fastmail`},
		{"relay needs a region", Options{Domain: "example.com", Hostname: "mail.example.com", Relay: "ses", RelayUser: "u", RelayPassword: "p"}, "needs a region"},
		{"relay without user", Options{Domain: "example.com", Hostname: "mail.example.com", Relay: "fastmail", RelayPassword: "p"}, "needs --relay-user"},
		{"relay without password", Options{Domain: "example.com", Hostname: "mail.example.com", Relay: "mailgun", RelayUser: "u"}, "needs --relay-user and the password"},
		{"bad hostname", Options{Domain: "example.com", Hostname: "mail..example.com"}, "hostname"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			dir := filepath.Join(t.TempDir(), "etc")
			tc.o.ConfigPath = filepath.Join(dir, "postern.toml")
			_, err := Write(tc.o)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Write: %v, want an error containing %q", err, tc.want)
			}
			if _, err := os.Stat(dir); !errors.Is(err, fs.ErrNotExist) {
				t.Errorf("a refused init left %s behind (%v)", dir, err)
			}
		})
	}
}

func TestWriteNeverOverwrites(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	path := filepath.Join(dir, "postern.toml")
	if err := os.WriteFile(path, []byte("# mine\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := Write(Options{ConfigPath: path, Domain: "example.com", Hostname: "mail.example.com",
		Relay: "fastmail", RelayUser: "u", RelayPassword: "p"})
	if err == nil || !strings.Contains(err.Error(), "already exists") {
		t.Fatalf("Write over an existing config: %v", err)
	}
	if data, _ := os.ReadFile(path); string(data) != "# mine\n" {
		t.Errorf("the existing config changed: %q", data)
	}
	if _, err := os.Stat(filepath.Join(dir, "relay.password")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("a password file was written beside a config that was kept: %v", err)
	}
}

func TestWriteQuotesValues(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	path := filepath.Join(dir, "postern.toml")
	// A user name with TOML-significant characters stays one string value.
	res, err := Write(Options{ConfigPath: path, Domain: "example.com", Hostname: "mail.example.com",
		StateDir: filepath.Join(dir, `st"ate`), Relay: "gmail", RelayUser: "a\"b\\c@gmail.com", RelayPassword: "p"})
	if err != nil {
		t.Fatal(err)
	}
	if res.Config.Relay.Username != "a\"b\\c@gmail.com" || res.Config.StateDir != filepath.Join(dir, `st"ate`) {
		t.Errorf("values changed on the way through TOML: user %q state %q", res.Config.Relay.Username, res.Config.StateDir)
	}
}
