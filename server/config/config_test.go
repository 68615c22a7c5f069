package config

import (
	"crypto/tls"
	"log/slog"
	"net"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func TestDefaultValidatesWithHostname(t *testing.T) {
	t.Parallel()
	c := Default()
	if err := c.Validate(); err == nil || !strings.Contains(err.Error(), "hostname is required") {
		t.Errorf("Default() without hostname: %v, want hostname is required", err)
	}
	c.Hostname = "mail.example.com"
	if err := c.Validate(); err != nil {
		t.Errorf("Default() with hostname: %v", err)
	}
	if w := c.Warnings(); len(w) != 0 {
		t.Errorf("Default() warnings: %q", w)
	}
}

func TestValidateWithoutFile(t *testing.T) {
	t.Parallel()
	c := Default()
	c.Hostname = "mail.example.com"
	c.TLS.Cert = "/c.pem"
	c.TLS.Key = "/k.pem"
	// Built in code, the contradiction cannot be an implicit default.
	want := "tls.self_signed: is true but tls.cert and tls.key are set; pick one: remove self_signed to use the files, or remove cert and key"
	if err := c.Validate(); err == nil || err.Error() != want {
		t.Errorf("Validate = %v, want %s", err, want)
	}
	c.TLS.SelfSigned = false
	if err := c.Validate(); err != nil {
		t.Errorf("Validate = %v", err)
	}
}

func TestAddrs(t *testing.T) {
	t.Parallel()
	c := Default()
	c.RuntimeDir = "/run/p"
	c.Listen = Listen{
		SMTP:       "127.0.0.1:0",
		Submission: "[::1]:587",
		IMAP:       ":143",
		LMTP:       "unix:lmtp.sock",
		Metrics:    "localhost:9155",
	}
	got := c.Addrs()
	want := map[string]ListenAddr{
		"smtp":       {"tcp", "127.0.0.1:0"},
		"submission": {"tcp", "[::1]:587"},
		"imap":       {"tcp", ":143"},
		"lmtp":       {"unix", "/run/p/lmtp.sock"},
		"metrics":    {"tcp", "localhost:9155"},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Addrs() = %v, want %v", got, want)
	}
	if s := got["lmtp"].String(); s != "unix:/run/p/lmtp.sock" {
		t.Errorf("String() = %q", s)
	}
	// Every name is a [listen] key, and every address is bindable as is.
	ln, err := net.Listen(got["smtp"].Network, got["smtp"].Address)
	if err != nil {
		t.Fatal(err)
	}
	ln.Close()
	sock := filepath.Join(t.TempDir(), "l.sock")
	c.Listen = Listen{LMTP: "unix:" + sock}
	ul, err := net.Listen(c.Addrs()["lmtp"].Network, c.Addrs()["lmtp"].Address)
	if err != nil {
		t.Fatal(err)
	}
	ul.Close()
}

func TestHelpers(t *testing.T) {
	t.Parallel()
	c := Default()
	if got := c.AdminSocket(); got != "/run/postern/admin.sock" {
		t.Errorf("AdminSocket() = %q", got)
	}
	c.Admin.Socket = "/elsewhere/a.sock"
	if got := c.AdminSocket(); got != "/elsewhere/a.sock" {
		t.Errorf("AdminSocket() with absolute socket = %q", got)
	}
	if got := c.DBPath(); got != "/var/lib/postern/postern.db" {
		t.Errorf("DBPath() = %q", got)
	}
	if c.TLS.MinTLSVersion() != tls.VersionTLS12 {
		t.Error("min_version 1.2 is not TLS 1.2")
	}
	c.TLS.MinVersion = "1.3"
	if c.TLS.MinTLSVersion() != tls.VersionTLS13 {
		t.Error("min_version 1.3 is not TLS 1.3")
	}
	levels := map[string]slog.Level{"debug": slog.LevelDebug, "info": slog.LevelInfo, "warn": slog.LevelWarn, "error": slog.LevelError}
	for s, want := range levels {
		if got := (Log{Level: s}).SlogLevel(); got != want {
			t.Errorf("SlogLevel(%q) = %v, want %v", s, got, want)
		}
	}
	s := SMTP{TrustedNetworks: []string{"10.1.2.3/8", "::1/128", "junk"}}
	var got []string
	for _, p := range s.Prefixes() {
		got = append(got, p.String())
	}
	if strings.Join(got, " ") != "10.0.0.0/8 ::1/128" {
		t.Errorf("Prefixes() = %q", got)
	}
}

func TestSuggest(t *testing.T) {
	t.Parallel()
	keys := []string{"smtp", "submission", "imap", "imaps"}
	for in, want := range map[string]string{"smpt": "smtp", "imapss": "imaps", "submision": "submission", "zzz": "", "pop3": ""} {
		if got := suggest(in, keys); got != want {
			t.Errorf("suggest(%q) = %q, want %q", in, got, want)
		}
	}
}
