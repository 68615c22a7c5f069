package maildir

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestScan(t *testing.T) {
	t.Parallel()
	m := newTestMaildir(t, nil)
	write := func(sub, name, content string) {
		t.Helper()
		if err := os.WriteFile(filepath.Join(m.Root, sub, name), []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	// Files as other tools leave them: no S=, no info, another order.
	write("cur", "900.M1P1Q1.old:2,S", "aaaa")
	write("new", "1000.mutt_1.host", "bb")
	write("cur", "1000.M5P5Q5.h,S=99,W=100:2,RF", "c")
	write("new", ".hidden", "x")
	if err := os.Mkdir(filepath.Join(m.Root, "cur", "subdir"), 0o700); err != nil {
		t.Fatal(err)
	}
	entries, err := Scan(m.Root)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range entries {
		got = append(got, e.Base+"|"+strings.Join(e.Flags, " ")+"|"+
			map[bool]string{true: "new", false: "cur"}[e.New]+"|"+
			itoa(e.Size)+"|"+itoa(e.VSize))
		if e.ModTime.IsZero() || e.Path != filepath.Join(m.Root, map[bool]string{true: "new", false: "cur"}[e.New], e.Name) {
			t.Errorf("entry %+v", e)
		}
	}
	want := []string{
		`900.M1P1Q1.old|\Seen|cur|4|-1`,
		`1000.M5P5Q5.h,S=99,W=100|\Flagged \Answered|cur|99|100`,
		`1000.mutt_1.host||new|2|-1`,
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("Scan =\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if _, err := Scan(filepath.Join(m.Root, "nope")); err == nil {
		t.Error("Scan of a missing folder succeeded")
	}
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

func TestCleanTmp(t *testing.T) {
	t.Parallel()
	m := newTestMaildir(t, nil)
	now := time.Now()
	for name, age := range map[string]time.Duration{"old": 37 * time.Hour, "young": 35 * time.Hour, "fresh": 0} {
		p := filepath.Join(m.Root, "tmp", name)
		if err := os.WriteFile(p, nil, 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Chtimes(p, now.Add(-age), now.Add(-age)); err != nil {
			t.Fatal(err)
		}
	}
	n, err := CleanTmp(m.Root, now)
	if err != nil || n != 1 {
		t.Fatalf("CleanTmp = %d, %v; want 1", n, err)
	}
	if got := strings.Join(ls(t, filepath.Join(m.Root, "tmp")), " "); got != "fresh young" {
		t.Errorf("tmp/ = %s", got)
	}
}
