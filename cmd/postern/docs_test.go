package main

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the generated docs from the command table")

// generated lists every file rendered from the command table, relative to the repository.
func generated() map[string]func(*command) []byte {
	return map[string]func(*command) []byte{
		"docs/cli.md":                       renderDocs,
		"docs/man/postern.8":                renderMan,
		"packaging/completion/postern.bash": renderBash,
		"packaging/completion/_postern":     renderZsh,
	}
}

// TestCLIDocs keeps docs/cli.md, postern(8) and the shell completions identical to what
// the command table renders.
func TestCLIDocs(t *testing.T) {
	for rel, render := range generated() {
		path := filepath.Join("..", "..", filepath.FromSlash(rel))
		want := render(rootCommand())
		if *update {
			if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(path, want, 0o644); err != nil {
				t.Fatal(err)
			}
		}
		got, err := os.ReadFile(path)
		if err != nil {
			t.Fatalf("%v (generate it with: make docs)", err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("%s is stale; regenerate it with: make docs", rel)
		}
	}
}
