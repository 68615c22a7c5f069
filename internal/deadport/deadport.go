// Package deadport gives tests a loopback TCP address where nothing listens and nothing
// can start to: a socket bound to a kernel-chosen port that never listens, held until
// the test ends. A connection to it is refused at once. (Opening and closing a listener
// to find such a port leaves a window in which another test's listener may be given
// it, and then the "dead" address answers.)
package deadport

import (
	"net"
	"strconv"
	"syscall"
	"testing"
)

// Addr returns 127.0.0.1:PORT, dead for the rest of the test.
func Addr(t testing.TB) string {
	t.Helper()
	return net.JoinHostPort("127.0.0.1", strconv.Itoa(Port(t)))
}

// Port returns the port of Addr.
func Port(t testing.TB) int {
	t.Helper()
	fd, err := syscall.Socket(syscall.AF_INET, syscall.SOCK_STREAM|syscall.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatalf("deadport: %v", err)
	}
	t.Cleanup(func() { syscall.Close(fd) })
	if err := syscall.Bind(fd, &syscall.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}}); err != nil {
		t.Fatalf("deadport: bind: %v", err)
	}
	sa, err := syscall.Getsockname(fd)
	if err != nil {
		t.Fatalf("deadport: %v", err)
	}
	return sa.(*syscall.SockaddrInet4).Port
}
