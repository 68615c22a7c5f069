package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestConfigShow: config show prints the effective config of a minimal file, defaults
// filled in; a missing or invalid file exits with EX_CONFIG.
func TestConfigShow(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	good := filepath.Join(dir, "postern.toml")
	if err := os.WriteFile(good, []byte("hostname = \"mail.example.org\"\nstate_dir = \"state\"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	r := runCLI(t, "", nil, "config", "show", good)
	if r.code != 0 || !strings.Contains(r.stdout, "max_recipients = 1000\n") ||
		!strings.Contains(r.stdout, "state_dir = '"+filepath.Join(dir, "state")+"'\n") {
		t.Fatalf("config show: %+v", r)
	}
	if r := runCLI(t, "", map[string]string{"POSTERN_CONFIG": good}, "config", "show"); r.code != 0 || !strings.Contains(r.stdout, "hostname = 'mail.example.org'") {
		t.Errorf("config show via POSTERN_CONFIG: %+v", r)
	}
	bad := filepath.Join(dir, "bad.toml")
	if err := os.WriteFile(bad, []byte("hostname = \"mail.example.org\"\nbogus = 1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if r := runCLI(t, "", nil, "config", "show", bad); r.code != exitConfig || !strings.Contains(r.stderr, "bogus") || r.stdout != "" {
		t.Errorf("config show of a bad file: %+v", r)
	}
	wantFail(t, runCLI(t, "", nil, "config", "show", filepath.Join(dir, "missing.toml")), exitConfig, "no config file", "config default")
}
