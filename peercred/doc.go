// Package peercred says who is on the other end of a unix socket connection, as the
// kernel reports it at connect time: the admin socket authorises by it, the local
// submission socket records it.
package peercred

// Cred is the peer's process, user and group ids.
type Cred struct {
	PID int32
	UID uint32
	GID uint32
}
