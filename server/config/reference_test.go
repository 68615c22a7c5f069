package config

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite docs/config.md and postern.toml(5) from the structs")

// TestReference fails when docs/config.md or postern.toml(5) differs from what the
// structs generate; -update (make docs) rewrites them.
func TestReference(t *testing.T) {
	for rel, want := range map[string][]byte{"docs/config.md": Reference(), "docs/man/postern.toml.5": ManPage()} {
		path := filepath.Join("..", "..", filepath.FromSlash(rel))
		if *update {
			if err := os.WriteFile(path, want, 0o644); err != nil {
				t.Fatal(err)
			}
		}
		got, err := os.ReadFile(path)
		if err != nil {
			t.Fatalf("%v; generate it with: make docs", err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("%s is out of date with the config structs; regenerate it with: make docs", rel)
		}
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
