package maildir

import (
	"os"
	"path/filepath"
	"slices"
	"testing"
)

func TestFlagRenamerRenamesAndAddsKeywords(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	for _, sub := range []string{"cur", "new", "tmp"} {
		if err := os.Mkdir(filepath.Join(dir, sub), 0o700); err != nil {
			t.Fatal(err)
		}
	}
	inNew := filepath.Join(dir, "new", "1.M1P1.h,S=3")
	inCur := filepath.Join(dir, "cur", "2.M2P1.h,S=3:2,S")
	for _, p := range []string{inNew, inCur} {
		if err := os.WriteFile(p, []byte("x\r\n"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	r, err := NewFlagRenamer(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	p1, err := r.SetFlags(inNew, []string{`\Seen`, `\Flagged`})
	if err != nil {
		t.Fatal(err)
	}
	if want := filepath.Join(dir, "cur", "1.M1P1.h,S=3:2,FS"); p1 != want {
		t.Errorf("renamed to %s, want %s", p1, want)
	}
	p2, err := r.SetFlags(inCur, []string{`\Seen`, "$Junk"})
	if err != nil {
		t.Fatal(err)
	}
	if want := filepath.Join(dir, "cur", "2.M2P1.h,S=3:2,Sa"); p2 != want {
		t.Errorf("renamed to %s, want %s", p2, want)
	}
	kw, err := LoadKeywords(dir)
	if err != nil {
		t.Fatal(err)
	}
	if l, ok := kw.Letter("$Junk"); !ok || l != 'a' {
		t.Errorf("dovecot-keywords has $Junk as %q %v", l, ok)
	}
	if p, err := r.SetFlags(p2, []string{"$Junk", `\Seen`}); err != nil || p != p2 {
		t.Errorf("unchanged flags: %s, %v", p, err)
	}
	if got := ls(t, filepath.Join(dir, "cur")); !slices.Equal(got, []string{"1.M1P1.h,S=3:2,FS", "2.M2P1.h,S=3:2,Sa"}) {
		t.Errorf("cur/ holds %q", got)
	}
	if _, err := r.SetFlags(filepath.Join(t.TempDir(), "cur", "x"), nil); err == nil {
		t.Error("a path outside the folder was accepted")
	}
}
