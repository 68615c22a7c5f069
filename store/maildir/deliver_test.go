package maildir

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"testing/iotest"
	"time"
)

func TestDeliverLayout(t *testing.T) {
	t.Parallel()
	n := NewNamer("mx.example.org", fixedClock())
	m := newTestMaildir(t, n)
	if _, err := m.EnsureFolder("Lists/golang"); err != nil {
		t.Fatal(err)
	}
	header := []byte("Return-Path: <bob@example.net>\r\n")
	body := "Subject: hi\nX: y\r\n\nbody\n"
	ds, err := Deliver(n, []Target{
		{Root: m.Root},
		{Root: m.Root, Folder: "Lists/golang", Flags: []string{`\Seen`, `\Flagged`}},
	}, header, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	size := int64(len(header) + len(body))
	vsize := size + 3 // three bare LFs in body
	pid := os.Getpid()
	base := fmt.Sprintf("1700000000.M123456P%dQ1.mx.example.org,S=%d,W=%d", pid, size, vsize)
	want := []Delivered{
		{Root: m.Root, Folder: "INBOX", Dir: m.Root, Name: base,
			Path: filepath.Join(m.Root, "new", base), Size: size, VSize: vsize},
		{Root: m.Root, Folder: "Lists/golang", Dir: filepath.Join(m.Root, ".Lists.golang"), Name: base + ":2,FS",
			Path: filepath.Join(m.Root, ".Lists.golang", "cur", base+":2,FS"), Size: size, VSize: vsize},
	}
	for i := range want {
		if ds[i] != want[i] {
			t.Errorf("delivered[%d] =\n%+v, want\n%+v", i, ds[i], want[i])
		}
		got, err := os.ReadFile(want[i].Path)
		if err != nil || string(got) != string(header)+body {
			t.Errorf("%s: content %q, %v", want[i].Path, got, err)
		}
	}
	if got := ls(t, filepath.Join(m.Root, "tmp")); len(got) != 0 {
		t.Errorf("tmp/ not empty after delivery: %v", got)
	}
	if got := ls(t, m.Root); strings.Join(got, " ") != ".Lists.golang cur new tmp" {
		t.Errorf("root = %v", got)
	}
	if got := ls(t, want[1].Dir); strings.Join(got, " ") != "cur maildirfolder new tmp" {
		t.Errorf("folder = %v", got)
	}
	if fi, _ := os.Stat(want[0].Path); fi.Mode().Perm() != 0o600 {
		t.Errorf("message mode %v", fi.Mode().Perm())
	}
}

func TestDeliverHardLinksAcrossUsers(t *testing.T) {
	t.Parallel()
	n := NewNamer("mx", nil)
	alice := newTestMaildir(t, n)
	bob := &Maildir{Root: filepath.Join(filepath.Dir(alice.Root), "bob"), Namer: n}
	if err := Create(bob.Root); err != nil {
		t.Fatal(err)
	}
	ds, err := Deliver(n, []Target{{Root: alice.Root}, {Root: bob.Root}}, nil, strings.NewReader("x\r\n"))
	if err != nil {
		t.Fatal(err)
	}
	a, err := os.Stat(ds[0].Path)
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.Stat(ds[1].Path)
	if err != nil {
		t.Fatal(err)
	}
	if !os.SameFile(a, b) {
		t.Error("the two users' copies are not one inode")
	}
	if !strings.HasPrefix(ds[1].Path, bob.Root+"/new/") {
		t.Errorf("bob's copy at %s", ds[1].Path)
	}
}

func TestDeliverConcurrent(t *testing.T) {
	t.Parallel()
	m := newTestMaildir(t, NewNamer("mx", fixedClock())) // same instant: only Q differs
	const workers, each = 16, 25
	var wg sync.WaitGroup
	errs := make(chan error, workers*each)
	paths := make(chan string, workers*each)
	for w := range workers {
		wg.Go(func() {
			for i := range each {
				body := fmt.Sprintf("message %d/%d\r\n", w, i)
				ds, err := Deliver(m.Namer, []Target{{Root: m.Root}}, nil, strings.NewReader(body))
				if err != nil {
					errs <- err
					return
				}
				paths <- ds[0].Path
			}
		})
	}
	wg.Wait()
	close(errs)
	close(paths)
	for err := range errs {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for p := range paths {
		if seen[p] {
			t.Fatalf("name %s used twice", p)
		}
		seen[p] = true
	}
	entries, err := Scan(m.Root)
	if err != nil {
		t.Fatal(err)
	}
	if len(seen) != workers*each || len(entries) != workers*each {
		t.Fatalf("delivered %d, scanned %d, want %d", len(seen), len(entries), workers*each)
	}
	bodies := map[string]bool{}
	for _, e := range entries {
		b, err := os.ReadFile(e.Path)
		if err != nil {
			t.Fatal(err)
		}
		bodies[string(b)] = true
	}
	if len(bodies) != workers*each {
		t.Errorf("%d distinct bodies, want %d", len(bodies), workers*each)
	}
}

type failingReader struct{ n int }

func (r *failingReader) Read(p []byte) (int, error) {
	if r.n <= 0 {
		return 0, errors.New("connection reset")
	}
	k := min(len(p), r.n)
	for i := range k {
		p[i] = 'x'
	}
	r.n -= k
	return k, nil
}

func assertNoMessages(t *testing.T, dirs ...string) {
	t.Helper()
	for _, d := range dirs {
		for _, sub := range []string{"tmp", "new", "cur"} {
			if got := ls(t, filepath.Join(d, sub)); len(got) != 0 {
				t.Errorf("%s/%s holds %v after a failed delivery", d, sub, got)
			}
		}
	}
}

func TestDeliverBodyErrorLeavesNothing(t *testing.T) {
	t.Parallel()
	m := newTestMaildir(t, nil)
	_, err := Deliver(m.Namer, []Target{{Root: m.Root}}, []byte("H: v\r\n"), &failingReader{n: 100000})
	if err == nil || !strings.Contains(err.Error(), "connection reset") {
		t.Fatalf("err = %v", err)
	}
	assertNoMessages(t, m.Root)
}

func TestDeliverMissingFolderLeavesNothing(t *testing.T) {
	t.Parallel()
	m := newTestMaildir(t, nil)
	_, err := Deliver(m.Namer, []Target{{Root: m.Root}, {Root: m.Root, Folder: "Nope"}}, nil, strings.NewReader("x"))
	if !errors.Is(err, ErrNoFolder) {
		t.Fatalf("err = %v, want ErrNoFolder", err)
	}
	_, err = Deliver(m.Namer, []Target{{Root: filepath.Join(m.Root, "missing-user")}}, nil, strings.NewReader("x"))
	if !errors.Is(err, ErrNoFolder) {
		t.Fatalf("missing root: err = %v, want ErrNoFolder", err)
	}
	assertNoMessages(t, m.Root)
}

func TestDeliverLinkFailureRollsBack(t *testing.T) {
	t.Parallel()
	n := NewNamer("mx", fixedClock())
	m := newTestMaildir(t, n)
	other := newTestMaildir(t, n)
	// Make the second target's new/ unusable after planning succeeds:
	// a file in place of the directory makes link(2) fail with ENOTDIR.
	if err := os.Remove(filepath.Join(other.Root, "new")); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(other.Root, "new"), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := Deliver(n, []Target{{Root: m.Root}, {Root: other.Root}}, nil, strings.NewReader("x"))
	if err == nil {
		t.Fatal("delivery into a broken Maildir succeeded")
	}
	assertNoMessages(t, m.Root)
}

func TestDeliverRefusesBadTargets(t *testing.T) {
	t.Parallel()
	m := newTestMaildir(t, nil)
	cases := map[string][]Target{
		"none":      nil,
		"duplicate": {{Root: m.Root}, {Root: m.Root, Folder: "inbox"}},
		"bad name":  {{Root: m.Root, Folder: "../../etc"}},
		"bad flag":  {{Root: m.Root, Flags: []string{`\Bogus`}}},
		"bad kw":    {{Root: m.Root, Flags: []string{"has space"}}},
	}
	for name, targets := range cases {
		if _, err := Deliver(m.Namer, targets, nil, strings.NewReader("x")); err == nil {
			t.Errorf("%s: delivery succeeded", name)
		}
	}
	assertNoMessages(t, m.Root)
}

func TestDeliverKeywordsAndAppendDate(t *testing.T) {
	t.Parallel()
	m := newTestMaildir(t, nil)
	date := time.Date(2020, 2, 29, 12, 0, 0, 0, time.UTC)
	d, err := m.Append("", []string{"$Junk", `\Seen`, "Work", `\Recent`}, date, strings.NewReader("x\r\n"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasSuffix(d.Name, ":2,Sab") || !strings.HasPrefix(d.Path, m.Root+"/cur/") {
		t.Errorf("appended as %s", d.Path)
	}
	fi, err := os.Stat(d.Path)
	if err != nil || !fi.ModTime().Equal(date) {
		t.Errorf("mtime = %v, %v; want %v", fi.ModTime(), err, date)
	}
	kw, err := os.ReadFile(filepath.Join(m.Root, KeywordsFile))
	if err != nil || string(kw) != "0 $Junk\n1 Work\n" {
		t.Errorf("dovecot-keywords = %q, %v", kw, err)
	}
}

func TestCopyFileAcrossDirs(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	src := filepath.Join(dir, "src")
	date := time.Unix(1600000000, 0)
	if err := os.WriteFile(src, []byte("data"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Chtimes(src, date, date); err != nil {
		t.Fatal(err)
	}
	dst := filepath.Join(dir, "dst")
	if err := copyFile(src, dst, filepath.Join(dir, "tmpcopy")); err != nil {
		t.Fatal(err)
	}
	a, _ := os.Stat(src)
	b, _ := os.Stat(dst)
	if os.SameFile(a, b) || !b.ModTime().Equal(date) {
		t.Errorf("copy is a link or lost its mtime: %v", b.ModTime())
	}
	got, _ := os.ReadFile(dst)
	if string(got) != "data" {
		t.Errorf("copy = %q", got)
	}
	if _, err := os.Stat(filepath.Join(dir, "tmpcopy")); err == nil {
		t.Error("temporary copy left behind")
	}
}

func TestWriteCountingCRLF(t *testing.T) {
	t.Parallel()
	cases := []struct {
		header, body string
		size, vsize  int64
	}{
		{"", "", 0, 0},
		{"a\r\n", "b\r\n", 6, 6},
		{"a\n", "b\n\n", 5, 8},
		{"", "b\r\n\r\nc\nd\r\n", 10, 11},
		{"a\r", "\nb", 4, 4}, // CR at the end of the header, LF in the body
	}
	for _, c := range cases {
		var buf bytes.Buffer
		// One-byte reads put a chunk boundary between every CR and LF.
		size, vsize, err := writeCounting(&buf, []byte(c.header), iotest.OneByteReader(strings.NewReader(c.body)), make([]byte, 7))
		if err != nil || size != c.size || vsize != c.vsize || buf.String() != c.header+c.body {
			t.Errorf("%q+%q: size %d vsize %d %v, want %d %d", c.header, c.body, size, vsize, err, c.size, c.vsize)
		}
	}
}

func BenchmarkDeliver4K(b *testing.B) {
	m := newTestMaildir(b, nil)
	msg := bytes.Repeat([]byte("0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ\r\n"), 64)
	targets := []Target{{Root: m.Root}}
	b.SetBytes(int64(len(msg)))
	for b.Loop() {
		if _, err := Deliver(m.Namer, targets, nil, bytes.NewReader(msg)); err != nil {
			b.Fatal(err)
		}
	}
}
