package integration

import (
	"syscall"
	"testing"
)

// reservePort reserves a free loopback TCP port for a daemon that must be told its port
// before it binds it (Postfix, Dovecot, Redis, Rspamd, Pebble and the containerised
// daemon cannot bind port 0 and tell us). Opening and closing a listener to find one
// would leave a window in which any other listener may be given the port. Instead the
// kernel picks it for a socket of ours (holdPort: bound without SO_REUSEADDR, so the
// choice is atomic and exclusive), which then gets SO_REUSEADDR and never listens, until
// the test ends. A daemon that sets SO_REUSEADDR itself (all of those do, as Go's
// net.Listen does) can bind and listen on the port, while no other reservation, and no
// program that lets the kernel choose, is given it: neither before the daemon binds it
// nor while it is stopped and started again.
func reservePort(t testing.TB) int {
	t.Helper()
	port, fd := holdPort(t)
	t.Cleanup(func() { syscall.Close(fd) })
	if err := syscall.SetsockoptInt(fd, syscall.SOL_SOCKET, syscall.SO_REUSEADDR, 1); err != nil {
		t.Fatal(err)
	}
	return port
}
