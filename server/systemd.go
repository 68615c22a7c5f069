package server

import (
	"fmt"
	"net"
	"os"
	"strings"
)

// systemd speaks the sd_notify protocol (sd_notify(3)): datagrams to the unix socket
// named in $NOTIFY_SOCKET ("@" prefix = abstract namespace). With no socket it does nothing,
// so the same binary runs under systemd, Docker or a terminal.
type systemd struct {
	addr string
}

func newSystemd(getenv func(string) string) *systemd {
	return &systemd{addr: getenv("NOTIFY_SOCKET")}
}

// Send writes one state string such as "READY=1" or "STOPPING=1".
func (n *systemd) Send(state string) error {
	if n == nil || n.addr == "" {
		return nil
	}
	addr := n.addr
	if strings.HasPrefix(addr, "@") {
		addr = "\x00" + addr[1:]
	}
	c, err := net.DialUnix("unixgram", nil, &net.UnixAddr{Name: addr, Net: "unixgram"})
	if err != nil {
		return fmt.Errorf("sd_notify: %w", err)
	}
	defer c.Close()
	if _, err := c.Write([]byte(state)); err != nil {
		return fmt.Errorf("sd_notify: %w", err)
	}
	return nil
}

// Ready tells systemd the daemon is serving, with our pid for Type=notify services that
// fork helpers.
func (n *systemd) Ready() error {
	return n.Send(fmt.Sprintf("READY=1\nMAINPID=%d\nSTATUS=serving", os.Getpid()))
}
