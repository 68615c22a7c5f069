package maildir

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func TestCreateAndEnsureFolderLayout(t *testing.T) {
	t.Parallel()
	m := newTestMaildir(t, nil)
	if got := strings.Join(ls(t, m.Root), " "); got != "cur new tmp" {
		t.Fatalf("root = %s", got)
	}
	if err := Create(m.Root); err != nil {
		t.Fatalf("Create twice: %v", err)
	}
	for name, want := range map[string]string{
		"INBOX":        m.Root,
		"Sent":         filepath.Join(m.Root, ".Sent"),
		"Lists/golang": filepath.Join(m.Root, ".Lists.golang"),
		"Entwürfe":     filepath.Join(m.Root, ".Entw&APw-rfe"),
		"inbox/Sub":    filepath.Join(m.Root, ".INBOX.Sub"),
	} {
		dir, err := m.EnsureFolder(name)
		if err != nil || dir != want {
			t.Errorf("EnsureFolder(%q) = %q, %v; want %q", name, dir, err, want)
			continue
		}
		wantEntries := "cur maildirfolder new tmp"
		if name == "INBOX" {
			wantEntries = "cur new tmp" // maildirfolder marks only the folders below the root
		}
		var got []string
		for _, e := range ls(t, dir) {
			if !strings.HasPrefix(e, ".") {
				got = append(got, e)
			}
		}
		if strings.Join(got, " ") != wantEntries {
			t.Errorf("%s holds %v", dir, got)
		}
		if fi, err := os.Stat(filepath.Join(dir, "new")); err != nil || fi.Mode().Perm()&0o077 != 0 {
			t.Errorf("%s/new: %v, %v", dir, fi.Mode(), err)
		}
		if ok, err := m.FolderExists(name); !ok || err != nil {
			t.Errorf("FolderExists(%q) = %v, %v", name, ok, err)
		}
	}
	if marker, err := os.Stat(filepath.Join(m.Root, ".Sent", FolderMarker)); err != nil || marker.Size() != 0 {
		t.Errorf("maildirfolder: %v", err)
	}
	if _, err := m.EnsureFolder("Sent"); err != nil {
		t.Errorf("EnsureFolder twice: %v", err)
	}
	if _, err := m.EnsureFolder("../../etc"); !errors.Is(err, ErrBadName) {
		t.Errorf("escape attempt: %v", err)
	}
	if ok, err := m.FolderExists("Nope"); ok || err != nil {
		t.Errorf("FolderExists(Nope) = %v, %v", ok, err)
	}
}

func TestEnsureFolderCreatesRoot(t *testing.T) {
	t.Parallel()
	m := &Maildir{Root: filepath.Join(t.TempDir(), "d", "u"), Namer: NewNamer("h", nil)}
	if _, err := m.EnsureFolder("Junk"); err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(ls(t, m.Root), " "); got != ".Junk cur new tmp" {
		t.Errorf("root = %s", got)
	}
}

func TestFoldersRenameDelete(t *testing.T) {
	t.Parallel()
	m := newTestMaildir(t, nil)
	for _, f := range []string{"Work", "Work/2024", "Work/2024/Q1", "Workshop", "日本語"} {
		if _, err := m.EnsureFolder(f); err != nil {
			t.Fatal(err)
		}
	}
	// Not folders: made by hand or by other software.
	for _, d := range []string{".inbox.x", "..deleted-x", "stuff", ".a..b"} {
		if err := os.Mkdir(filepath.Join(m.Root, d), 0o700); err != nil {
			t.Fatal(err)
		}
	}
	folders := func() []string {
		t.Helper()
		fs, err := m.Folders()
		if err != nil {
			t.Fatal(err)
		}
		return fs
	}
	if got, want := folders(), []string{"INBOX", "Work", "Work/2024", "Work/2024/Q1", "Workshop", "日本語"}; !slices.Equal(got, want) {
		t.Fatalf("Folders = %q, want %q", got, want)
	}
	ds, err := Deliver(m.Namer, []Target{{Root: m.Root, Folder: "Work/2024"}}, nil, strings.NewReader("x"))
	if err != nil {
		t.Fatal(err)
	}
	if err := m.RenameFolder("Work", "Jobs/Old"); err != nil {
		t.Fatal(err)
	}
	if got, want := folders(), []string{"INBOX", "Jobs/Old", "Jobs/Old/2024", "Jobs/Old/2024/Q1", "Workshop", "日本語"}; !slices.Equal(got, want) {
		t.Errorf("after rename Folders = %q, want %q", got, want)
	}
	if _, err := os.Stat(filepath.Join(m.Root, ".Jobs.Old.2024", "new", ds[0].Name)); err != nil {
		t.Errorf("message did not move with its folder: %v", err)
	}
	for _, c := range [][2]string{{"Jobs/Old", "Workshop"}, {"Jobs/Old", "Jobs/Old/Sub"}, {"Nope", "X"}, {"INBOX", "X"}, {"X", "inbox"}} {
		if err := m.RenameFolder(c[0], c[1]); err == nil {
			t.Errorf("RenameFolder(%q, %q) succeeded", c[0], c[1])
		}
	}
	if err := m.DeleteFolder("Jobs/Old/2024"); err != nil {
		t.Fatal(err)
	}
	if got, want := folders(), []string{"INBOX", "Jobs/Old", "Jobs/Old/2024/Q1", "Workshop", "日本語"}; !slices.Equal(got, want) {
		t.Errorf("after delete Folders = %q, want %q", got, want)
	}
	for _, e := range ls(t, m.Root) {
		if strings.HasPrefix(e, "..deleted-") && e != "..deleted-x" {
			t.Errorf("deleted folder left as %s", e)
		}
	}
	if err := m.DeleteFolder("Jobs/Old/2024"); !errors.Is(err, ErrNoFolder) {
		t.Errorf("delete twice: %v", err)
	}
	if err := m.DeleteFolder("inbox"); !errors.Is(err, ErrBadName) {
		t.Errorf("delete INBOX: %v", err)
	}
}

func TestNamer(t *testing.T) {
	t.Parallel()
	n := NewNamer("mail.example.com", fixedClock())
	a, b := n.Next(), n.Next()
	pid := itoa(int64(os.Getpid()))
	if a != "1700000000.M123456P"+pid+"Q1.mail.example.com" || b != "1700000000.M123456P"+pid+"Q2.mail.example.com" {
		t.Errorf("names %q %q", a, b)
	}
	if real := NewNamer("h", nil).Next(); !strings.HasSuffix(real, "Q1.h") || strings.HasPrefix(real, "1700000000.") {
		t.Errorf("real clock name %q", real)
	}
}

func TestSanitizeHostname(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"mail.example.com": "mail.example.com",
		"a/b:c,d":          `a\057b\072c\054d`,
		"x\ny":             "xy",
		"":                 "localhost",
		"\x00":             "localhost",
	} {
		if got := SanitizeHostname(in); got != want {
			t.Errorf("SanitizeHostname(%q) = %q, want %q", in, got, want)
		}
	}
}
