package admin

import (
	"io/fs"
	"log/slog"
	"net"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
)

func testLogger(w *syncBuffer) *slog.Logger {
	return slog.New(slog.NewTextHandler(w, nil))
}

func TestListenModeAndGroup(t *testing.T) {
	t.Parallel()
	g, err := user.LookupGroupId(strconv.Itoa(os.Getgid()))
	if err != nil {
		t.Skipf("no name for our gid: %v", err)
	}
	path := filepath.Join(t.TempDir(), "run", "admin.sock") // the directory is created
	ln, err := Listen(path, ResolveAccess(g.Name, nil), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Type() != fs.ModeSocket || fi.Mode().Perm() != 0o660 {
		t.Errorf("mode %v, want socket 0660", fi.Mode())
	}
	if gid := fi.Sys().(*syscall.Stat_t).Gid; strconv.Itoa(int(gid)) != g.Gid {
		t.Errorf("gid %d, want %s", gid, g.Gid)
	}
}

func TestListenWithoutGroupIs0600(t *testing.T) {
	t.Parallel()
	logs := &syncBuffer{}
	path := filepath.Join(t.TempDir(), "admin.sock")
	ln, err := Listen(path, ResolveAccess("no-such-group-postern-test", testLogger(logs)), testLogger(logs))
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("mode %v, want 0600", fi.Mode())
	}
	if !strings.Contains(logs.String(), "level=WARN") {
		t.Errorf("no warning logged: %q", logs)
	}
}

func TestListenReplacesStaleRefusesLiveAndFiles(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	a := Access{OwnUID: uint32(os.Getuid())}

	stale := filepath.Join(dir, "stale.sock")
	old, err := net.Listen("unix", stale)
	if err != nil {
		t.Fatal(err)
	}
	old.(*net.UnixListener).SetUnlinkOnClose(false)
	old.Close()
	ln, err := Listen(stale, a, nil)
	if err != nil {
		t.Fatalf("stale socket not replaced: %v", err)
	}
	defer ln.Close()

	if _, err := Listen(stale, a, nil); err == nil || !strings.Contains(err.Error(), "already listening") {
		t.Errorf("second Listen on a live socket: %v", err)
	}

	file := filepath.Join(dir, "file")
	if err := os.WriteFile(file, []byte("precious"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := Listen(file, a, nil); err == nil || !strings.Contains(err.Error(), "not a socket") {
		t.Errorf("Listen over a regular file: %v", err)
	}
	if b, _ := os.ReadFile(file); string(b) != "precious" {
		t.Errorf("regular file was touched")
	}
}
