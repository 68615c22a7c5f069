//go:build !linux

package admin

import (
	"errors"
	"net"
)

// peerCred is only implemented on Linux; elsewhere every peer is refused.
func peerCred(net.Conn) (PeerCred, error) {
	return PeerCred{}, errors.New("peer credentials are only supported on Linux")
}
