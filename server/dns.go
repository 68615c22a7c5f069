package server

import (
	"context"
	"net"
	"sync/atomic"
	"time"
)

// newResolver returns the resolver for the sender-domain check and PTR lookups: the
// system's when servers is empty, else Go's resolver sending every query to the given
// servers in turn ([dns] servers; tests point it at a fake DNS server).
func newResolver(servers []string) *net.Resolver {
	if len(servers) == 0 {
		return net.DefaultResolver
	}
	var next atomic.Uint32
	d := net.Dialer{Timeout: 5 * time.Second}
	return &net.Resolver{
		PreferGo: true,
		Dial: func(ctx context.Context, network, _ string) (net.Conn, error) {
			i := int(next.Add(1)-1) % len(servers)
			return d.DialContext(ctx, network, servers[i])
		},
	}
}
