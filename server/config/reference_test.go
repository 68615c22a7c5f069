package config

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite docs/config.md from Reference()")

// TestReference fails when docs/config.md differs from what the structs
// generate.
func TestReference(t *testing.T) {
	path := filepath.Join("..", "..", "docs", "config.md")
	want := Reference()
	if *update {
		if err := os.WriteFile(path, want, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v; generate it with: go test ./server/config -run TestReference -update", err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("docs/config.md is out of date with the config structs; regenerate it with:\n\tgo test ./server/config -run TestReference -update")
	}
}

func TestReferenceCoversEveryKey(t *testing.T) {
	t.Parallel()
	ref := string(Reference())
	for _, section := range []string{"## Top level", "## [listen]", "## [smtp]", "## [dns]", "## [tls]", "## [relay]", "## [admin]", "## [log]"} {
		if !strings.Contains(ref, "\n"+section+"\n") {
			t.Errorf("Reference lacks section %q", section)
		}
	}
	for _, row := range []string{
		"| `message_size_limit` | integer | `52428800` |",
		"| `hostname` | domain name | required |",
		"| `port` | integer | `587` |",
		"| `lmtp` | listen address | `\"unix:lmtp.sock\"` |",
	} {
		if !strings.Contains(ref, row) {
			t.Errorf("Reference lacks row %q", row)
		}
	}
}
