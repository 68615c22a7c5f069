//go:build !linux

package peercred

import (
	"errors"
	"net"
)

// Of is only implemented on Linux; elsewhere every peer is refused.
func Of(net.Conn) (Cred, error) {
	return Cred{}, errors.New("peer credentials are only supported on Linux")
}
