package config

import (
	"path/filepath"
	"testing"
)

// TestNamedFiles: every path setting that is set, resolved against the config's
// directory, and not state_dir or runtime_dir.
func TestNamedFiles(t *testing.T) {
	t.Parallel()
	doc := `hostname = "mail.example.test"
state_dir = "/var/lib/postern"
[tls]
cert = "tls/cert.pem"
key = "/etc/postern/tls/key.pem"
[relay]
host = "smtp.example.net"
username = "me"
password_file = "relay.password"
[sieve]
global_dir = "sieve-global"
`
	cfg, err := Parse([]byte(doc), "/etc/postern/postern.toml")
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, f := range cfg.NamedFiles() {
		got[f.Key] = f.Path
	}
	want := map[string]string{"tls.cert": "/etc/postern/tls/cert.pem", "tls.key": "/etc/postern/tls/key.pem",
		"relay.password_file": "/etc/postern/relay.password", "sieve.global_dir": "/etc/postern/sieve-global"}
	for k, v := range want {
		if got[k] != filepath.Clean(v) {
			t.Errorf("%s: %q, want %q", k, got[k], v)
		}
	}
	if len(got) != len(want) {
		t.Errorf("named files %v, want %v", got, want)
	}
}
