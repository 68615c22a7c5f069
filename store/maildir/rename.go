package maildir

import (
	"os"

	"golang.org/x/sys/unix"
)

// renameFile is os.Rename for a message file without os.Rename's extra lstat of the
// target (which only exists to refuse replacing a directory: the kernel refuses
// that too, with EISDIR). A batch of 1,000 flag renames makes 1,000 system calls
// instead of 2,000. Errors are *os.LinkError like os.Rename's, so errors.Is(err,
// fs.ErrNotExist) works the same.
func renameFile(oldpath, newpath string) error {
	for {
		err := unix.Rename(oldpath, newpath)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return &os.LinkError{Op: "rename", Old: oldpath, New: newpath, Err: err}
		}
		return nil
	}
}
