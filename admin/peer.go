package admin

import "net"

// PeerCredentials reports who is on the other end of a unix socket connection
// (SO_PEERCRED), for other local sockets of the daemon that record their caller, such as
// the local submission socket.
func PeerCredentials(c net.Conn) (PeerCred, error) { return peerCred(c) }
