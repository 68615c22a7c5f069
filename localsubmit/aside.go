package localsubmit

import (
	"crypto/rand"
	"errors"
	"fmt"
	"os"

	"golang.org/x/sys/unix"
)

// setAsideAt renames name in the directory dirfd (unix.AT_FDCWD: name is a path) to
// NAME.bad, or, when that exists, to NAME.RANDOM.bad. It never replaces anything: a
// user who made NAME.bad first (a file, a full directory) could otherwise make the
// rename fail at every scan, or have it replace what was set aside before.
func setAsideAt(dirfd int, name string) error {
	err := renameNoReplace(dirfd, name, name+".bad")
	if !errors.Is(err, unix.EEXIST) && !errors.Is(err, unix.ENOTEMPTY) {
		return err
	}
	var b [6]byte
	rand.Read(b[:])
	return renameNoReplace(dirfd, name, fmt.Sprintf("%s.%x.bad", name, b))
}

// renameNoReplace renames without replacing; where the file system cannot promise that
// (EINVAL), it renames only when the target does not exist yet.
func renameNoReplace(dirfd int, from, to string) error {
	err := unix.Renameat2(dirfd, from, dirfd, to, unix.RENAME_NOREPLACE)
	if errors.Is(err, unix.EINVAL) {
		var st unix.Stat_t
		if unix.Fstatat(dirfd, to, &st, unix.AT_SYMLINK_NOFOLLOW) == nil {
			return unix.EEXIST
		}
		err = unix.Renameat(dirfd, from, dirfd, to)
	}
	if err != nil {
		return &os.LinkError{Op: "rename", Old: from, New: to, Err: err}
	}
	return nil
}
