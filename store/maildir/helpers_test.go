package maildir

import (
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"
)

func newTestMaildir(t testing.TB, n *Namer) *Maildir {
	t.Helper()
	if n == nil {
		n = NewNamer("mx.example.org", nil)
	}
	root := filepath.Join(t.TempDir(), "example.org", "alice")
	if err := Create(root); err != nil {
		t.Fatal(err)
	}
	return &Maildir{Root: root, Namer: n}
}

func ls(t testing.TB, dir string) []string {
	t.Helper()
	des, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, de := range des {
		names = append(names, de.Name())
	}
	slices.Sort(names)
	return names
}

func fixedClock() func() time.Time {
	return func() time.Time { return time.Unix(1700000000, 123456000) }
}
