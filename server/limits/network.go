package limits

import "net/netip"

// Networks says how wide a client network is: the prefix length of an IPv4 and of an
// IPv6 client address. The zero value means 32 and 64.
type Networks struct {
	V4Bits int
	V6Bits int
}

// Of returns the client network of addr (IPv4-mapped IPv6 addresses count as IPv4). An
// invalid addr (a unix-socket peer) gives the zero Prefix.
func (n Networks) Of(addr netip.Addr) netip.Prefix {
	if !addr.IsValid() {
		return netip.Prefix{}
	}
	addr = addr.Unmap()
	bits := n.V6Bits
	if bits <= 0 || bits > 128 {
		bits = 64
	}
	if addr.Is4() {
		bits = n.V4Bits
		if bits <= 0 || bits > 32 {
			bits = 32
		}
	}
	p, err := addr.Prefix(bits)
	if err != nil {
		return netip.Prefix{}
	}
	return p
}

// ParseAddr reads a client address as the listeners report it ("192.0.2.1", "::1",
// "[::1]:993", "192.0.2.1:25"); anything else (a unix socket) gives the zero Addr.
func ParseAddr(s string) netip.Addr {
	if a, err := netip.ParseAddr(s); err == nil {
		return a.Unmap()
	}
	if ap, err := netip.ParseAddrPort(s); err == nil {
		return ap.Addr().Unmap()
	}
	return netip.Addr{}
}
