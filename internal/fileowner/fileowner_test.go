package fileowner

import (
	"os"
	"path/filepath"
	"testing"
)

// TestTree: as root the tree goes to another uid with every mode kept; as anyone else
// giving a tree to oneself changes nothing and giving it to root is refused.
func TestTree(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	os.MkdirAll(filepath.Join(root, "a", "b"), 0o750)
	os.WriteFile(filepath.Join(root, "a", "b", "secret"), []byte("k"), 0o600)
	os.WriteFile(filepath.Join(root, "a", "open"), []byte("x"), 0o644)
	os.Symlink("b/secret", filepath.Join(root, "a", "link"))
	uid, gid := 4242, 4343
	if os.Geteuid() != 0 {
		uid, gid = os.Getuid(), os.Getgid()
		if err := Tree(root, 0, 0); err == nil {
			t.Fatal("a non-root user gave files to root")
		}
	}
	if err := Tree(root, uid, gid); err != nil {
		t.Fatal(err)
	}
	modes := map[string]os.FileMode{"a": 0o750 | os.ModeDir, "a/b/secret": 0o600, "a/open": 0o644}
	for _, rel := range []string{".", "a", "a/b", "a/b/secret", "a/open", "a/link"} {
		p := filepath.Join(root, rel)
		if u, g, err := Of(p); err != nil || u != uid || g != gid {
			t.Errorf("%s owned by %d:%d (%v), want %d:%d", rel, u, g, err, uid, gid)
		}
		if want, ok := modes[rel]; ok {
			if fi, _ := os.Lstat(p); fi.Mode() != want {
				t.Errorf("%s mode %v, want %v", rel, fi.Mode(), want)
			}
		}
	}
	if err := Tree(root, -1, -1); err != nil {
		t.Fatal(err)
	}
}
