package relay

import (
	"errors"
	"net"
	"net/netip"
)

// errInternalAddress is a destination address we refuse to deliver to unless the
// owner named it: loopback, private, link-local, unspecified, multicast, CGNAT, or
// one of this host's own addresses. An MX record pointing there would make a vacation
// reply or a bounce loop through our own port 25, or reach a service on the LAN.
var errInternalAddress = errors.New("relay: destination is a loopback, private, link-local or own address")

var cgnat = netip.MustParsePrefix("100.64.0.0/10")

// internalAddr reports whether ip is such an address.
func internalAddr(ip netip.Addr) bool {
	ip = ip.Unmap()
	switch {
	case ip.IsLoopback(), ip.IsPrivate(), ip.IsLinkLocalUnicast(), ip.IsLinkLocalMulticast(),
		ip.IsInterfaceLocalMulticast(), ip.IsMulticast(), ip.IsUnspecified(), cgnat.Contains(ip):
		return true
	case ip.Is4() && ip.As4()[0] == 0:
		return true
	}
	return ownAddr(ip)
}

// ownAddr reports whether ip is an address of one of this host's interfaces (read at
// each call: addresses come and go with DHCP).
func ownAddr(ip netip.Addr) bool {
	addrs, err := net.InterfaceAddrs()
	if err != nil {
		return false
	}
	for _, a := range addrs {
		if n, ok := a.(*net.IPNet); ok {
			if own, ok := netip.AddrFromSlice(n.IP); ok && own.Unmap() == ip {
				return true
			}
		}
	}
	return false
}

// checkDestination refuses an internal address unless Options.AllowInternal. addr is
// "host:port"; literal says the host was an IP address. A name (a smart host) is
// checked after the dial, by checkConnected, against the address it was dialled at.
func (cl *Client) checkDestination(host, addr string) (literal bool, e *Error) {
	h, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false, nil
	}
	ip, err := netip.ParseAddr(h)
	if err != nil {
		return false, nil
	}
	if !cl.opts.AllowInternal && internalAddr(ip) {
		return true, internalError(host, ip)
	}
	return true, nil
}

// checkConnected checks the address a name was dialled at.
func (cl *Client) checkConnected(host string, literal bool, nc net.Conn) *Error {
	if cl.opts.AllowInternal || literal {
		return nil
	}
	if ta, ok := nc.RemoteAddr().(*net.TCPAddr); ok {
		if ip := ta.AddrPort().Addr(); internalAddr(ip) {
			return internalError(host, ip)
		}
	}
	return nil
}

func internalError(host string, ip netip.Addr) *Error {
	return &Error{Stage: StageConnect, Host: host, Code: 554, Enhanced: "5.4.4",
		Text: "refusing to deliver to " + ip.String() + " (loopback, private, link-local or this host's own address); name it in a [relays] table to allow it",
		Err:  errInternalAddress}
}
