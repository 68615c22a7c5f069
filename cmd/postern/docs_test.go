package main

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"testing"
)

var update = flag.Bool("update", false, "rewrite docs/cli.md from the command table")

// TestCLIDocs keeps docs/cli.md identical to what the command table renders.
func TestCLIDocs(t *testing.T) {
	path := filepath.Join("..", "..", "docs", "cli.md")
	want := renderDocs(rootCommand())
	if *update {
		if err := os.WriteFile(path, want, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (generate it with: go test ./cmd/postern -run TestCLIDocs -update)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("docs/cli.md is stale; regenerate it with: go test ./cmd/postern -run TestCLIDocs -update")
	}
}
