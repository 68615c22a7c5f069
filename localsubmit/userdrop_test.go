package localsubmit_test

import (
	"bytes"
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/postern/postern/localsubmit"
)

func (f *submitFixture) maildrop() string { return filepath.Join(filepath.Dir(f.pickup), "maildrop") }

func writeDrop(t *testing.T, dir, subject string) string {
	t.Helper()
	body := []byte("Subject: " + subject + "\n\nx\n")
	path, err := localsubmit.WriteMaildrop(dir, &localsubmit.Request{Rcpts: []string{"alice@example.test"}, Size: int64(len(body))},
		bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	return path
}

// TestMaildropOwnDirectory: sendmail with the daemon down writes into the caller's own
// directory of the maildrop (mode 2770), which the caller can list (mailq, daemon down);
// the daemon delivers from it and keeps the directory.
func TestMaildropOwnDirectory(t *testing.T) {
	t.Parallel()
	f := newSubmitFixture(t)
	own := filepath.Join(f.maildrop(), strconv.Itoa(os.Getuid()))
	path := writeDrop(t, f.maildrop(), "while down")
	if filepath.Dir(path) != own {
		t.Fatalf("written to %s, want in %s", path, own)
	}
	fi, err := os.Stat(own)
	if err != nil || fi.Mode()&fs.ModeSetgid == 0 || fi.Mode().Perm() != 0o770 {
		t.Fatalf("own directory: %v (%v), want setgid 0770", fi.Mode(), err)
	}
	list, err := localsubmit.ListMaildrop(f.maildrop(), "me@mail.example.test")
	if err != nil || len(list) != 1 || list[0].From != "me@mail.example.test" || list[0].Rcpts[0].Addr != "alice@example.test" {
		t.Fatalf("ListMaildrop = %+v, %v; want the one message", list, err)
	}
	f.ls.ScanPickup(context.Background())
	if n := len(readInbox(t, f.mail, "alice")); n != 1 {
		t.Fatalf("alice has %d messages, want 1", n)
	}
	if left := pickupFiles(t, own); len(left) != 0 {
		t.Errorf("own directory still holds %v", left)
	}
	if list, err := localsubmit.ListMaildrop(f.maildrop(), "x"); err != nil || len(list) != 0 {
		t.Errorf("after the pickup ListMaildrop = %+v, %v", list, err)
	}
}

// TestMaildropSquattedDirectory: a directory named after a uid but owned by someone else
// delivers nothing of what it holds and is set aside; a symlink in place of one's own
// directory is not followed by sendmail (it writes into the maildrop itself) nor by the
// daemon; one's own directory with a mode the daemon cannot use is not written into.
func TestMaildropSquattedDirectory(t *testing.T) {
	t.Parallel()
	f := newSubmitFixture(t)
	squat := filepath.Join(f.maildrop(), strconv.Itoa(os.Getuid()+7))
	if err := os.Mkdir(squat, 0o770); err != nil {
		t.Fatal(err)
	}
	planted := writeDropIn(t, squat, "planted in a squat")
	elsewhere := t.TempDir()
	writeDropIn(t, elsewhere, "behind a symlink")
	own := filepath.Join(f.maildrop(), strconv.Itoa(os.Getuid()))
	if err := os.Symlink(elsewhere, own); err != nil {
		t.Fatal(err)
	}
	fallback := writeDrop(t, f.maildrop(), "fallback")
	if filepath.Dir(fallback) != f.maildrop() {
		t.Errorf("with a symlink for its directory sendmail wrote %s, want the maildrop itself", fallback)
	}
	f.ls.ScanPickup(context.Background())
	got := readInbox(t, f.mail, "alice")
	if len(got) != 1 || !bytes.Contains([]byte(got[0]), []byte("Subject: fallback")) {
		t.Fatalf("alice got %d messages, want only the fallback one: %q", len(got), got)
	}
	if _, err := os.Stat(squat + ".bad"); err != nil {
		t.Errorf("the squatted directory was not set aside: %v", err)
	}
	if _, err := os.Stat(filepath.Join(squat+".bad", filepath.Base(planted))); err != nil {
		t.Errorf("the planted file was not left alone: %v", err)
	}
	names := pickupFiles(t, f.maildrop())
	if !slices.Contains(names, filepath.Base(own)+".bad") {
		t.Errorf("the symlink was not set aside: %v", names)
	}

	// Its own directory with group write taken away: sendmail writes beside it.
	f2 := newSubmitFixture(t)
	own2 := filepath.Join(f2.maildrop(), strconv.Itoa(os.Getuid()))
	if err := os.Mkdir(own2, 0o750); err != nil {
		t.Fatal(err)
	}
	if p := writeDrop(t, f2.maildrop(), "beside"); filepath.Dir(p) != f2.maildrop() {
		t.Errorf("with a 0750 own directory sendmail wrote %s, want the maildrop itself", p)
	}
}

// writeDropIn writes a maildrop file straight into dir, as a user could.
func writeDropIn(t *testing.T, dir, subject string) string {
	t.Helper()
	body := "Subject: " + subject + "\n\nx\n"
	path := filepath.Join(dir, "0000000000000001-aaaaaaaaaaaaaaaaaaaaaaaa")
	line := `{"v":1,"rcpts":["alice@example.test"],"size":` + strconv.Itoa(len(body)) + "}\n"
	if err := os.WriteFile(path, []byte(line+body), 0o640); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestMaildropStaleTempRemoved: what a sendmail killed while writing leaves in its own
// maildrop directory (".tmp-*") is removed by a scan once it is older than an hour, as
// in pickup; a temporary being written now stays.
func TestMaildropStaleTempRemoved(t *testing.T) {
	t.Parallel()
	f := newSubmitFixture(t)
	own := filepath.Dir(writeDrop(t, f.maildrop(), "beside the leftovers"))
	old, fresh := filepath.Join(own, ".tmp-killed"), filepath.Join(own, ".tmp-writing")
	for _, p := range []string{old, fresh} {
		if err := os.WriteFile(p, []byte(`{"v":1,"rcpts":["alice@exa`), 0o640); err != nil {
			t.Fatal(err)
		}
	}
	then := time.Now().Add(-2 * time.Hour)
	if err := os.Chtimes(old, then, then); err != nil {
		t.Fatal(err)
	}
	f.ls.ScanPickup(context.Background())
	if _, err := os.Lstat(old); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("a two-hour-old temporary is still there: %v", err)
	}
	if _, err := os.Lstat(fresh); err != nil {
		t.Errorf("the temporary being written was removed: %v", err)
	}
	if n := len(readInbox(t, f.mail, "alice")); n != 1 {
		t.Errorf("alice has %d messages, want 1", n)
	}
}
