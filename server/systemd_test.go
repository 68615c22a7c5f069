package server

import (
	"net"
	"path/filepath"
	"testing"
)

func TestSystemdNotify(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "notify")
	conn, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: path, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	n := newSystemd(func(k string) string {
		if k == "NOTIFY_SOCKET" {
			return path
		}
		return ""
	})
	if err := n.Ready(); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 512)
	k, _, err := conn.ReadFromUnix(buf)
	if err != nil {
		t.Fatal(err)
	}
	if got := string(buf[:k]); got[:8] != "READY=1\n" {
		t.Fatalf("notify message %q", got)
	}
	// Without NOTIFY_SOCKET nothing is sent and nothing fails.
	if err := newSystemd(func(string) string { return "" }).Ready(); err != nil {
		t.Fatal(err)
	}
}
