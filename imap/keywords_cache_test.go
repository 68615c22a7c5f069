package imap

import (
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/postern/postern/store/maildir"
)

// TestKeywordCacheSeesRewrites: the cached table follows the file when another
// program rewrites it (same size or not) or removes it.
func TestKeywordCacheSeesRewrites(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	var c keywordCache
	names := func() []string {
		t.Helper()
		kw, err := c.load(dir)
		if err != nil {
			t.Fatal(err)
		}
		return kw.Names()
	}
	if got := names(); len(got) != 0 {
		t.Fatalf("no file: %v", got)
	}
	write := func(content string) {
		t.Helper()
		// A new file renamed over the old one, as Dovecot and maildir.EnsureKeywords do.
		tmp := filepath.Join(dir, "kw.tmp")
		if err := os.WriteFile(tmp, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(tmp, filepath.Join(dir, maildir.KeywordsFile)); err != nil {
			t.Fatal(err)
		}
	}
	write("0 $Junk\n")
	if got := names(); !slices.Equal(got, []string{"$Junk"}) {
		t.Fatalf("after first write: %v", got)
	}
	if first, second := mustLoad(t, &c, dir), mustLoad(t, &c, dir); first != second {
		t.Fatal("an unchanged file was parsed again")
	}
	write("0 $Work\n") // same size
	if got := names(); !slices.Equal(got, []string{"$Work"}) {
		t.Fatalf("after same-size rewrite: %v", got)
	}
	if err := os.Remove(filepath.Join(dir, maildir.KeywordsFile)); err != nil {
		t.Fatal(err)
	}
	if got := names(); len(got) != 0 {
		t.Fatalf("after removal: %v", got)
	}
}

func mustLoad(t *testing.T, c *keywordCache, dir string) *maildir.Keywords {
	t.Helper()
	kw, err := c.load(dir)
	if err != nil {
		t.Fatal(err)
	}
	return kw
}
