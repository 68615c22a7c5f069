package maildir

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func TestSplitAndParseInfo(t *testing.T) {
	t.Parallel()
	kw := ParseKeywords([]byte("0 $Junk\n1 Work\n"))
	cases := []struct {
		name, base, letters string
		flags               []string
	}{
		{"1.M1P1Q1.h,S=5,W=6", "1.M1P1Q1.h,S=5,W=6", "", nil},
		{"1.M1P1Q1.h,S=5:2,", "1.M1P1Q1.h,S=5", "", nil},
		{"1.M1P1Q1.h:2,TSRPFD", "1.M1P1Q1.h", "DFPRST",
			[]string{`\Draft`, `\Flagged`, "$Forwarded", `\Answered`, `\Seen`, `\Deleted`}},
		{"x:2,baSS", "x", "Sab", []string{`\Seen`, "$Junk", "Work"}},
		{"x:2,Szq", "x", "Sqz", []string{`\Seen`}}, // unknown keyword letters dropped
		{"x:2,XS", "x", "SX", []string{`\Seen`}},   // undefined system letter dropped
		{"x:1,S", "x", "", nil},                    // experimental info: no flags
		{"mutt.123_4.host:2,S", "mutt.123_4.host", "S", []string{`\Seen`}},
	}
	for _, c := range cases {
		base, letters := SplitInfo(c.name)
		if base != c.base || letters != c.letters {
			t.Errorf("SplitInfo(%q) = %q, %q; want %q, %q", c.name, base, letters, c.base, c.letters)
		}
		if _, flags := ParseInfo(c.name, kw); !slices.Equal(flags, c.flags) {
			t.Errorf("ParseInfo(%q) flags = %q, want %q", c.name, flags, c.flags)
		}
	}
	if _, flags := ParseInfo("x:2,Sa", nil); !slices.Equal(flags, []string{`\Seen`}) {
		t.Errorf("nil keywords: %q", flags)
	}
}

func TestSizeFields(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name        string
		size, vsize int64
	}{
		{"1.M2P3Q4.host,S=1234,W=1260:2,S", 1234, 1260},
		{"1.M2P3Q4.host,S=1234", 1234, -1},
		{"1.M2P3Q4.host", -1, -1},
		{"1.M2P3Q4.host,S=x,W=-5", -1, -1},
		{"1.host,S=1:2,S=99", 1, -1}, // fields after the info do not count
	}
	for _, c := range cases {
		if s, v := SizeFields(c.name); s != c.size || v != c.vsize {
			t.Errorf("SizeFields(%q) = %d, %d; want %d, %d", c.name, s, v, c.size, c.vsize)
		}
	}
}

func TestSetFlagsRoundTrip(t *testing.T) {
	t.Parallel()
	m := newTestMaildir(t, nil)
	ds, err := Deliver(m.Namer, []Target{{Root: m.Root}}, nil, strings.NewReader("x"))
	if err != nil {
		t.Fatal(err)
	}
	p := ds[0].Path
	// Same (empty) flags still move the message from new/ to cur/.
	p2, err := SetFlags(p, nil)
	if err != nil {
		t.Fatal(err)
	}
	if p2 != filepath.Join(m.Root, "cur", ds[0].Name+":2,") {
		t.Fatalf("moved to %s", p2)
	}
	p3, err := SetFlags(p2, []string{`\seen`, `\Answered`, "Work", `\Recent`})
	if err != nil {
		t.Fatal(err)
	}
	if filepath.Base(p3) != ds[0].Name+":2,RSa" {
		t.Errorf("flagged name %s", filepath.Base(p3))
	}
	if p4, err := SetFlags(p3, []string{"work", `\Answered`, `\Seen`}); err != nil || p4 != p3 {
		t.Errorf("unchanged flags: %s, %v", p4, err)
	}
	entries, err := Scan(m.Root)
	if err != nil || len(entries) != 1 {
		t.Fatalf("scan: %v, %v", entries, err)
	}
	if e := entries[0]; e.New || e.Path != p3 || !slices.Equal(e.Flags, []string{`\Answered`, `\Seen`, "Work"}) {
		t.Errorf("entry %+v", e)
	}
	p5, err := SetFlags(p3, nil)
	if err != nil || filepath.Base(p5) != ds[0].Name+":2," {
		t.Errorf("cleared: %s, %v", p5, err)
	}
	if _, err := os.Stat(p3); !errors.Is(err, fs.ErrNotExist) {
		t.Error("old name still exists")
	}
	if _, err := SetFlags(p3, []string{`\Seen`}); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("stale path: err = %v, want ErrNotExist", err)
	}
	if _, err := SetFlags(filepath.Join(m.Root, "tmp", "x"), nil); !errors.Is(err, ErrNotMessage) {
		t.Errorf("tmp path: err = %v", err)
	}
	if _, err := SetFlags(p5, []string{`\Bogus`}); err == nil {
		t.Error("unknown system flag accepted")
	}
}

func TestCopyAndRemove(t *testing.T) {
	t.Parallel()
	m := newTestMaildir(t, nil)
	if _, err := m.EnsureFolder("Archive"); err != nil {
		t.Fatal(err)
	}
	ds, err := Deliver(m.Namer, []Target{{Root: m.Root}}, nil, strings.NewReader("hello\n"))
	if err != nil {
		t.Fatal(err)
	}
	c, err := m.Copy(ds[0].Path, "Archive", []string{`\Seen`})
	if err != nil {
		t.Fatal(err)
	}
	if c.Size != 6 || c.VSize != 7 || !strings.HasPrefix(c.Path, filepath.Join(m.Root, ".Archive", "cur")+"/") ||
		!strings.HasSuffix(c.Name, ",S=6,W=7:2,S") {
		t.Errorf("copy %+v", c)
	}
	a, _ := os.Stat(ds[0].Path)
	b, _ := os.Stat(c.Path)
	if !os.SameFile(a, b) {
		t.Error("copy is not a hard link")
	}
	if _, err := m.Copy(ds[0].Path, "Missing", nil); !errors.Is(err, ErrNoFolder) {
		t.Errorf("copy to missing folder: %v", err)
	}
	if err := Remove(ds[0].Path); err != nil {
		t.Fatal(err)
	}
	if _, err := m.Copy(ds[0].Path, "Archive", nil); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("copy of expunged message: %v", err)
	}
	if got := ls(t, filepath.Join(m.Root, ".Archive", "cur")); len(got) != 1 {
		t.Errorf("Archive/cur = %v", got)
	}
	if err := Remove(filepath.Join(m.Root, "tmp", "x")); !errors.Is(err, ErrNotMessage) {
		t.Errorf("Remove outside new/cur: %v", err)
	}
}
