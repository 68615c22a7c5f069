package admin

import (
	"bufio"
	"bytes"
	"fmt"
	"github.com/postern/postern/peercred"
	"log/slog"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
)

// PeerCred is who is on the other end of a unix socket, as the kernel reports it at
// connect time (package peercred).
type PeerCred = peercred.Cred

// Authorizer decides whether a peer may use the admin protocol. A non-nil error refuses
// the connection; its text is sent to the peer, so it must not reveal more than needed.
type Authorizer interface {
	Authorize(PeerCred) error
}

// AuthorizerFunc adapts a function to Authorizer (handy in tests).
type AuthorizerFunc func(PeerCred) error

// Authorize calls f.
func (f AuthorizerFunc) Authorize(c PeerCred) error { return f(c) }

// Access is the production policy: root, the daemon's own uid, and members of the admin
// group (by primary gid or by a supplementary group) may administer. It is also what
// Listen uses to set the socket file's group and mode.
type Access struct {
	OwnUID   uint32 // the daemon's uid
	Group    string // the admin group's name, for messages
	GID      uint32 // valid when HasGroup
	HasGroup bool   // false: the group is unset or does not exist; only root and OwnUID pass
	ProcDir  string // where to read PID/status; "" means /proc
}

// ResolveAccess looks up the admin group. A group that does not exist is not fatal: the
// daemon logs a warning and admits only root and its own user, which is safe and lets a
// fresh install without the group still be administered by root.
func ResolveAccess(group string, logger *slog.Logger) Access {
	a := Access{OwnUID: uint32(os.Getuid()), Group: group}
	if group == "" {
		return a
	}
	g, err := user.LookupGroup(group)
	if err == nil {
		var gid uint64
		gid, err = strconv.ParseUint(g.Gid, 10, 32)
		if err == nil {
			a.GID, a.HasGroup = uint32(gid), true
			return a
		}
	}
	if logger != nil {
		logger.Warn("admin group not found; only root and the daemon's user may use the admin socket",
			"group", group, "err", err)
	}
	return a
}

// Authorize implements Authorizer.
func (a Access) Authorize(c PeerCred) error {
	if c.UID == 0 || c.UID == a.OwnUID {
		return nil
	}
	if a.HasGroup && a.inGroup(c) {
		return nil
	}
	hint := "run it as root or as the daemon's user"
	if a.Group != "" {
		hint = fmt.Sprintf("run it as root or as a member of group %q", a.Group)
	}
	return Errorf(CodePermissionDenied, hint, "permission denied")
}

// inGroup checks the peer's primary gid, then its supplementary groups, which SO_PEERCRED
// does not carry and which therefore come from /proc/PID/status. The pid could in theory
// have exited and been reused between connect and this read, so the uid recorded there
// must also match the peer's before its groups are believed.
func (a Access) inGroup(c PeerCred) bool {
	if c.GID == a.GID {
		return true
	}
	dir := a.ProcDir
	if dir == "" {
		dir = "/proc"
	}
	data, err := os.ReadFile(filepath.Join(dir, strconv.Itoa(int(c.PID)), "status"))
	if err != nil {
		return false
	}
	uids, groups := parseProcStatus(data)
	if len(uids) == 0 || !contains(uids, c.UID) {
		return false
	}
	return contains(groups, a.GID)
}

// parseProcStatus extracts the "Uid:" (real, effective, saved, fs) and "Groups:" lines
// of a /proc/PID/status file (proc(5)). Malformed numbers are skipped.
func parseProcStatus(data []byte) (uids, groups []uint32) {
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		key, rest, ok := strings.Cut(sc.Text(), ":")
		if !ok {
			continue
		}
		switch key {
		case "Uid":
			uids = parseIDs(rest)
		case "Groups":
			groups = parseIDs(rest)
		}
	}
	return uids, groups
}

func parseIDs(s string) []uint32 {
	var ids []uint32
	for _, f := range strings.Fields(s) {
		n, err := strconv.ParseUint(f, 10, 32)
		if err == nil {
			ids = append(ids, uint32(n))
		}
	}
	return ids
}

func contains(ids []uint32, id uint32) bool {
	for _, x := range ids {
		if x == id {
			return true
		}
	}
	return false
}
