package smtp

import (
	"context"
	"net"
	"net/netip"
	"sync"
)

// ProbeListener is a listener whose connections come from inside the process, each
// claiming to be from a remote address the caller picks. postern doctor serves one
// beside the port 25 listener to see what a client outside trusted_networks is allowed
// (the open-relay self-test) through the real session code, without a packet leaving
// loopback. Nothing outside the process can reach it.
type ProbeListener struct {
	conns     chan net.Conn
	closeOnce sync.Once
	done      chan struct{}
}

// NewProbeListener returns a listener for Server.Serve.
func NewProbeListener() *ProbeListener {
	return &ProbeListener{conns: make(chan net.Conn), done: make(chan struct{})}
}

// Dial returns the client side of a new connection that the server sees as coming
// from remote.
func (p *ProbeListener) Dial(ctx context.Context, remote netip.AddrPort) (net.Conn, error) {
	client, server := net.Pipe()
	select {
	case p.conns <- &probeConn{Conn: server, remote: net.TCPAddrFromAddrPort(remote)}:
		return client, nil
	case <-p.done:
		client.Close()
		server.Close()
		return nil, net.ErrClosed
	case <-ctx.Done():
		client.Close()
		server.Close()
		return nil, ctx.Err()
	}
}

// Accept waits for the next Dial.
func (p *ProbeListener) Accept() (net.Conn, error) {
	select {
	case c := <-p.conns:
		return c, nil
	case <-p.done:
		return nil, net.ErrClosed
	}
}

// Close stops Accept and Dial.
func (p *ProbeListener) Close() error {
	p.closeOnce.Do(func() { close(p.done) })
	return nil
}

// Addr is a placeholder: the listener has no address.
func (p *ProbeListener) Addr() net.Addr { return probeAddr{} }

type probeAddr struct{}

func (probeAddr) Network() string { return "probe" }
func (probeAddr) String() string  { return "probe" }

type probeConn struct {
	net.Conn
	remote *net.TCPAddr
}

func (c *probeConn) RemoteAddr() net.Addr { return c.remote }
